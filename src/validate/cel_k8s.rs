//! The parts of Kubernetes' CEL libraries that CRD rules call and the `cel` crate does not
//! have, written from their documentation (k8s.io/apiserver/pkg/cel/library: regex.go,
//! urls.go, quantity.go, ip.go, cidr.go): the regex `find`/`findAll` functions and the
//! `isURL`, `isQuantity`, `isIP` and `isCIDR` predicates. The object-returning forms
//! (`url()`, `quantity()`, `ip()`, `cidr()` and their methods) are not here: a rule that
//! calls them is skipped and named, never reported against an object.

use std::net::IpAddr;

use cel::common::types::{CelBool, CelInt, CelList, CelString};
use cel::common::value::Val;
use cel::{DeclarationError, Env, ExecutionError};

/// Registers the functions on `env`.
pub fn extension(env: &mut Env) -> Result<(), DeclarationError> {
    cel::add_member_overload!(env, fn find: (CelString, CelString) -> Result<CelString>)?;
    cel::add_member_overload!(env, fn find_all: (CelString, CelString) -> Result<CelList>)?;
    cel::add_member_overload!(env, fn find_all_n: (CelString, CelString, CelInt) -> Result<CelList>,
        name = "findAll")?;
    cel::add_overload!(env, fn is_url: (CelString) -> CelBool, name = "isURL")?;
    cel::add_overload!(env, fn is_quantity: (CelString) -> CelBool, name = "isQuantity")?;
    cel::add_overload!(env, fn is_ip: (CelString) -> CelBool, name = "isIP")?;
    cel::add_overload!(env, fn is_cidr: (CelString) -> CelBool, name = "isCIDR")?;
    Ok(())
}

fn regex(function: &str, pattern: &str) -> Result<regex::Regex, ExecutionError> {
    regex::Regex::new(pattern)
        .map_err(|e| ExecutionError::function_error(function, format!("invalid regex: {e}")))
}

/// The first match of the regex, or `""`.
fn find(
    this: &CelString<'_>,
    pattern: &CelString<'_>,
) -> Result<CelString<'static>, ExecutionError> {
    let re = regex("find", pattern.inner())?;
    Ok(re
        .find(this.inner())
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default()
        .into())
}

fn find_all(
    this: &CelString<'_>,
    pattern: &CelString<'_>,
) -> Result<CelList<'static>, ExecutionError> {
    find_all_n(this, pattern, &CelInt::from(-1))
}

/// At most `n` matches (all of them when `n` is negative).
fn find_all_n(
    this: &CelString<'_>,
    pattern: &CelString<'_>,
    n: &CelInt,
) -> Result<CelList<'static>, ExecutionError> {
    let re = regex("findAll", pattern.inner())?;
    let limit = usize::try_from(*n.inner()).unwrap_or(usize::MAX);
    Ok(re
        .find_iter(this.inner())
        .take(limit)
        .map(|m| Box::new(CelString::from(m.as_str().to_owned())) as Box<dyn Val>)
        .collect::<Vec<_>>()
        .into())
}

/// Go's `url.ParseRequestURI`: an absolute URI (a scheme) or an absolute path, no spaces or
/// control characters, and an authority that is not malformed.
fn is_url(this: &CelString<'_>) -> CelBool {
    let s = this.inner();
    if s.is_empty() || s.chars().any(|c| c.is_control() || c == ' ') {
        return false.into();
    }
    if s.starts_with('/') {
        return true.into();
    }
    let Some((scheme, rest)) = s.split_once(':') else {
        return false.into();
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let authority_ok = match rest.strip_prefix("//") {
        Some(after) => {
            let authority = after.split(['/', '?', '#']).next().unwrap_or("");
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            match host.strip_prefix('[') {
                Some(v6) => v6.split_once(']').is_some_and(|(ip, port)| {
                    ip.parse::<std::net::Ipv6Addr>().is_ok() && port_ok(port)
                }),
                None => host
                    .rsplit_once(':')
                    .is_none_or(|(_, port)| port.chars().all(|c| c.is_ascii_digit())),
            }
        }
        None => true,
    };
    (scheme_ok && authority_ok).into()
}

fn port_ok(rest: &str) -> bool {
    rest.is_empty()
        || rest
            .strip_prefix(':')
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

fn is_quantity(this: &CelString<'_>) -> CelBool {
    crate::diff::quantity::parse(this.inner()).is_some().into()
}

/// An IPv4 or IPv6 address as Go's netip reads it, without a zone, and not an IPv4 address
/// mapped into IPv6 (the library refuses those).
fn ip(s: &str) -> Option<IpAddr> {
    let ip: IpAddr = s.parse().ok()?;
    match ip {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => None,
        ip => Some(ip),
    }
}

fn is_ip(this: &CelString<'_>) -> CelBool {
    ip(this.inner()).is_some().into()
}

/// `address/prefix-length`, the length within the address family's bits.
fn is_cidr(this: &CelString<'_>) -> CelBool {
    let Some((addr, len)) = this.inner().split_once('/') else {
        return false.into();
    };
    let Some(ip) = ip(addr) else {
        return false.into();
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len_ok = !len.is_empty()
        && len.chars().all(|c| c.is_ascii_digit())
        && (len == "0" || !len.starts_with('0'))
        && len.parse::<u32>().is_ok_and(|l| l <= max);
    len_ok.into()
}
