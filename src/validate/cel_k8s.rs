//! The parts of Kubernetes' CEL libraries that CRD rules call and the `cel` crate does not
//! have, written from their documentation (k8s.io/apiserver/pkg/cel/library: regex.go,
//! urls.go, quantity.go, ip.go, cidr.go, lists.go): the regex `find`/`findAll` functions, the
//! `isURL`, `isQuantity`, `isIP` and `isCIDR` predicates, the `ip()`, `cidr()`, `quantity()`
//! and `url()` values with their methods, and the list functions. `getQuery()` (a map of
//! lists) is not here: a rule that calls it is skipped and named, never reported against an
//! object.

use std::any::Any;
use std::cmp::Ordering;
use std::net::IpAddr;

use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelString, DYN_TYPE, Kind, LIST_TYPE, Type,
};
use cel::common::value::{CowVal, StaticVal, Val};
use cel::{DeclarationError, Env, ExecutionError};

use crate::diff::quantity::{self, Quantity};

/// Registers the functions on `env`.
pub fn extension(env: &mut Env) -> Result<(), DeclarationError> {
    cel::add_member_overload!(env, fn find: (CelString, CelString) -> Result<CelString>)?;
    cel::add_member_overload!(env, fn find_all: (CelString, CelString) -> Result<CelList>)?;
    cel::add_member_overload!(env, fn find_all_n: (CelString, CelString, CelInt) -> Result<CelList>,
        name = "findAll")?;
    cel::add_overload!(env, fn is_url: (CelString) -> CelBool, name = "isURL")?;
    cel::add_overload!(env, fn url_of: (CelString) -> Result<Url>, name = "url")?;
    cel::add_member_overload!(env, fn get_scheme: (Url) -> CelString)?;
    cel::add_member_overload!(env, fn get_host: (Url) -> CelString)?;
    cel::add_member_overload!(env, fn get_hostname: (Url) -> CelString)?;
    cel::add_member_overload!(env, fn get_port: (Url) -> CelString)?;
    cel::add_member_overload!(env, fn get_escaped_path: (Url) -> CelString)?;
    cel::add_overload!(env, fn is_quantity: (CelString) -> CelBool, name = "isQuantity")?;
    cel::add_overload!(env, fn is_ip: (CelString) -> CelBool, name = "isIP")?;
    cel::add_overload!(env, fn is_cidr: (CelString) -> CelBool, name = "isCIDR")?;

    cel::add_overload!(env, fn ip_of: (CelString) -> Result<Ip>, name = "ip")?;
    cel::add_overload!(env, fn ip_is_canonical: (CelString) -> Result<CelBool>,
        name = "ip.isCanonical")?;
    cel::add_member_overload!(env, fn family: (Ip) -> CelInt)?;
    cel::add_member_overload!(env, fn is_unspecified: (Ip) -> CelBool)?;
    cel::add_member_overload!(env, fn is_loopback: (Ip) -> CelBool)?;
    cel::add_member_overload!(env, fn is_link_local_multicast: (Ip) -> CelBool)?;
    cel::add_member_overload!(env, fn is_link_local_unicast: (Ip) -> CelBool)?;
    cel::add_member_overload!(env, fn is_global_unicast: (Ip) -> CelBool)?;

    cel::add_overload!(env, fn cidr_of: (CelString) -> Result<Cidr>, name = "cidr")?;
    cel::add_member_overload!(env, fn contains_ip: (Cidr, Ip) -> CelBool, name = "containsIP")?;
    cel::add_member_overload!(env, fn contains_ip_text: (Cidr, CelString) -> Result<CelBool>,
        name = "containsIP")?;
    cel::add_member_overload!(env, fn contains_cidr: (Cidr, Cidr) -> CelBool,
        name = "containsCIDR")?;
    cel::add_member_overload!(env, fn contains_cidr_text: (Cidr, CelString) -> Result<CelBool>,
        name = "containsCIDR")?;
    cel::add_member_overload!(env, fn cidr_ip: (Cidr) -> Ip, name = "ip")?;
    cel::add_member_overload!(env, fn masked: (Cidr) -> Cidr)?;
    cel::add_member_overload!(env, fn prefix_length: (Cidr) -> CelInt)?;

    cel::add_overload!(env, fn quantity_of: (CelString) -> Result<Qty>, name = "quantity")?;
    cel::add_member_overload!(env, fn is_integer: (Qty) -> CelBool)?;
    cel::add_member_overload!(env, fn as_integer: (Qty) -> Result<CelInt>)?;
    cel::add_member_overload!(env, fn as_approximate_float: (Qty) -> CelDouble)?;
    cel::add_member_overload!(env, fn sign: (Qty) -> CelInt)?;
    cel::add_member_overload!(env, fn add: (Qty, Qty) -> Result<Qty>)?;
    cel::add_member_overload!(env, fn add_int: (Qty, CelInt) -> Result<Qty>, name = "add")?;
    cel::add_member_overload!(env, fn sub: (Qty, Qty) -> Result<Qty>)?;
    cel::add_member_overload!(env, fn sub_int: (Qty, CelInt) -> Result<Qty>, name = "sub")?;
    cel::add_member_overload!(env, fn is_less_than: (Qty, Qty) -> CelBool)?;
    cel::add_member_overload!(env, fn is_greater_than: (Qty, Qty) -> CelBool)?;
    cel::add_member_overload!(env, fn compare_to: (Qty, Qty) -> CelInt)?;

    // Kubernetes' list library (lists.go), on any list of comparable elements.
    env.add_member_overload("isSorted", "list.isSorted()", LIST_TYPE, vec![], is_sorted)?;
    env.add_member_overload("min", "list.min()", LIST_TYPE, vec![], list_min)?;
    env.add_member_overload("max", "list.max()", LIST_TYPE, vec![], list_max)?;
    env.add_member_overload("sum", "list.sum()", LIST_TYPE, vec![], list_sum)?;
    env.add_member_overload(
        "indexOf",
        "list.indexOf(dyn)",
        LIST_TYPE,
        vec![DYN_TYPE],
        index_of,
    )?;
    env.add_member_overload(
        "lastIndexOf",
        "list.lastIndexOf(dyn)",
        LIST_TYPE,
        vec![DYN_TYPE],
        last_index_of,
    )?;
    Ok(())
}

/// The receiver (and argument) of a list function, or the arity error.
fn list_args<'b, 'v, const N: usize>(
    function: &str,
    args: Vec<CowVal<'b, 'v>>,
) -> Result<[CowVal<'b, 'v>; N], ExecutionError> {
    args.try_into().map_err(|args: Vec<_>| {
        ExecutionError::function_error(
            function,
            format!("expected {N} arguments, got {}", args.len()),
        )
    })
}

/// The elements of a list value.
fn elements<'b, 'v>(
    function: &str,
    list: &'b (dyn Val + 'v),
) -> Result<Vec<&'b (dyn Val + 'v)>, ExecutionError> {
    let iterable = list
        .as_iterable()
        .ok_or_else(|| ExecutionError::function_error(function, "not a list"))?;
    let mut items = iterable.iter();
    let mut out = Vec::new();
    while let Some(item) = items.next() {
        out.push(item);
    }
    Ok(out)
}

fn order(function: &str, a: &dyn Val, b: &dyn Val) -> Result<Ordering, ExecutionError> {
    if a.get_type() != b.get_type() {
        return Err(ExecutionError::function_error(
            function,
            "list elements must have the same type",
        ));
    }
    a.as_comparer()
        .ok_or_else(|| {
            ExecutionError::function_error(function, "list elements must be comparable")
        })?
        .compare(b)
}

fn is_sorted<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [list] = list_args("isSorted", args)?;
    let items = elements("isSorted", list.as_ref())?;
    for pair in items.windows(2) {
        if order("isSorted", pair[0], pair[1])? == Ordering::Greater {
            return Ok(CowVal::owned(CelBool::from(false)));
        }
    }
    Ok(CowVal::owned(CelBool::from(true)))
}

/// The least (`want` Less) or greatest element; an empty list is an error, as in Kubernetes.
fn extreme<'b, 'v>(
    function: &str,
    args: Vec<CowVal<'b, 'v>>,
    want: Ordering,
) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [list] = list_args(function, args)?;
    let items = elements(function, list.as_ref())?;
    let mut best = *items.first().ok_or_else(|| {
        ExecutionError::function_error(function, format!("{function} called on an empty list"))
    })?;
    for item in &items[1..] {
        if order(function, *item, best)? == want {
            best = *item;
        }
    }
    Ok(CowVal::Owned(best.clone_as_boxed()))
}

fn list_min<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    extreme("min", args, Ordering::Less)
}

fn list_max<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    extreme("max", args, Ordering::Greater)
}

/// The sum of the elements (numbers or durations); `0` for an empty list.
fn list_sum<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [list] = list_args("sum", args)?;
    let items = elements("sum", list.as_ref())?;
    let Some(first) = items.first() else {
        return Ok(CowVal::owned(CelInt::from(0)));
    };
    let mut total: Box<dyn Val + 'v> = first.clone_as_boxed();
    for item in &items[1..] {
        let next = total
            .as_adder()
            .ok_or_else(|| ExecutionError::function_error("sum", "list elements cannot be added"))?
            .add(*item)?;
        total = next.as_ref().clone_as_boxed();
    }
    Ok(CowVal::Owned(total))
}

fn position<'b, 'v>(
    function: &str,
    args: Vec<CowVal<'b, 'v>>,
    last: bool,
) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [list, wanted] = list_args(function, args)?;
    let items = elements(function, list.as_ref())?;
    let mut found = items
        .iter()
        .enumerate()
        .filter(|(_, item)| item.equals(wanted.as_ref()));
    let index = if last {
        found.next_back()
    } else {
        found.next()
    };
    Ok(CowVal::owned(CelInt::from(
        index.map_or(-1, |(i, _)| i as i64),
    )))
}

fn index_of<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    position("indexOf", args, false)
}

fn last_index_of<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    position("lastIndexOf", args, true)
}

/// Implements [`Val`] for an opaque value type of the library, named as Kubernetes names it.
macro_rules! opaque {
    ($rust:ident, $ty:ident, $name:literal) => {
        static $ty: Type = Type::simple_type(Kind::Opaque, $name);

        impl Val for $rust {
            fn get_type(&self) -> &Type {
                &$ty
            }
            fn cel_type() -> &'static Type {
                &$ty
            }
            fn equals(&self, other: &dyn Val) -> bool {
                other.as_any().and_then(|o| o.downcast_ref::<$rust>()) == Some(self)
            }
            fn clone_as_boxed<'v>(&self) -> Box<dyn Val + 'v> {
                Box::new(self.clone())
            }
            fn as_any(&self) -> Option<&dyn Any> {
                Some(self)
            }
        }

        impl StaticVal for $rust {}
    };
}

/// `ip(string)`: an address.
#[derive(Clone, Debug, PartialEq)]
pub struct Ip(IpAddr);
opaque!(Ip, IP_TYPE, "net.IP");

/// `cidr(string)`: an address and a prefix length.
#[derive(Clone, Debug, PartialEq)]
pub struct Cidr(IpAddr, u8);
opaque!(Cidr, CIDR_TYPE, "net.CIDR");

/// `quantity(string)`: a resource quantity.
#[derive(Clone, Debug, PartialEq)]
pub struct Qty(Quantity);
opaque!(Qty, QUANTITY_TYPE, "kubernetes.Quantity");

fn invalid(function: &str, what: &str, text: &str) -> ExecutionError {
    ExecutionError::function_error(function, format!("{what} {text:?} is not valid"))
}

fn ip_of(text: &CelString<'_>) -> Result<Ip, ExecutionError> {
    ip(text.inner())
        .map(Ip)
        .ok_or_else(|| invalid("ip", "IP address", text.inner()))
}

/// True when the address is written as Kubernetes writes it back (RFC 5952 for IPv6).
fn ip_is_canonical(text: &CelString<'_>) -> Result<CelBool, ExecutionError> {
    let addr =
        ip(text.inner()).ok_or_else(|| invalid("ip.isCanonical", "IP address", text.inner()))?;
    Ok((addr.to_string() == text.inner()).into())
}

fn family(ip: &Ip) -> CelInt {
    CelInt::from(if ip.0.is_ipv4() { 4 } else { 6 })
}

fn is_unspecified(ip: &Ip) -> CelBool {
    ip.0.is_unspecified().into()
}

fn is_loopback(ip: &Ip) -> CelBool {
    ip.0.is_loopback().into()
}

/// 224.0.0.0/24 and ff02::/16, as Go's net.IP.IsLinkLocalMulticast.
fn is_link_local_multicast(ip: &Ip) -> CelBool {
    match ip.0 {
        IpAddr::V4(v4) => v4.octets()[..3] == [224, 0, 0],
        IpAddr::V6(v6) => v6.segments()[0] & 0xff0f == 0xff02,
    }
    .into()
}

/// 169.254.0.0/16 and fe80::/10.
fn is_link_local_unicast(ip: &Ip) -> CelBool {
    match ip.0 {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    }
    .into()
}

/// Go's net.IP.IsGlobalUnicast: not unspecified, loopback, multicast, link-local unicast
/// or the IPv4 broadcast address.
fn is_global_unicast(ip: &Ip) -> CelBool {
    let special = ip.0.is_unspecified()
        || ip.0.is_loopback()
        || ip.0.is_multicast()
        || *is_link_local_unicast(ip).inner()
        || matches!(ip.0, IpAddr::V4(v4) if v4.is_broadcast());
    (!special).into()
}

fn cidr(text: &str) -> Option<Cidr> {
    let (addr, len) = text.split_once('/')?;
    let ip = ip(addr)?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len_ok = !len.is_empty()
        && len.chars().all(|c| c.is_ascii_digit())
        && (len == "0" || !len.starts_with('0'));
    let len: u8 = len.parse().ok().filter(|l| len_ok && *l <= max)?;
    Some(Cidr(ip, len))
}

fn cidr_of(text: &CelString<'_>) -> Result<Cidr, ExecutionError> {
    cidr(text.inner()).ok_or_else(|| invalid("cidr", "network address", text.inner()))
}

/// The address with the bits beyond the prefix cleared.
fn mask(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::V4((bits & mask).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::V6((bits & mask).into())
        }
    }
}

fn contains(net: &Cidr, ip: IpAddr) -> bool {
    net.0.is_ipv4() == ip.is_ipv4() && mask(ip, net.1) == mask(net.0, net.1)
}

fn contains_ip(net: &Cidr, ip: &Ip) -> CelBool {
    contains(net, ip.0).into()
}

fn contains_ip_text(net: &Cidr, text: &CelString<'_>) -> Result<CelBool, ExecutionError> {
    Ok(contains_ip(net, &ip_of(text)?))
}

fn contains_cidr(net: &Cidr, other: &Cidr) -> CelBool {
    (other.1 >= net.1 && contains(net, other.0)).into()
}

fn contains_cidr_text(net: &Cidr, text: &CelString<'_>) -> Result<CelBool, ExecutionError> {
    Ok(contains_cidr(net, &cidr_of(text)?))
}

fn cidr_ip(net: &Cidr) -> Ip {
    Ip(net.0)
}

fn masked(net: &Cidr) -> Cidr {
    Cidr(mask(net.0, net.1), net.1)
}

fn prefix_length(net: &Cidr) -> CelInt {
    CelInt::from(i64::from(net.1))
}

fn quantity_of(text: &CelString<'_>) -> Result<Qty, ExecutionError> {
    quantity::parse(text.inner())
        .filter(|_| !text.inner().trim().is_empty() && text.inner().trim() == text.inner())
        .map(Qty)
        .ok_or_else(|| invalid("quantity", "quantity", text.inner()))
}

fn is_integer(q: &Qty) -> CelBool {
    (q.0.is_integer() && q.0.as_i64().is_some()).into()
}

fn as_integer(q: &Qty) -> Result<CelInt, ExecutionError> {
    q.0.as_i64().map(CelInt::from).ok_or_else(|| {
        ExecutionError::function_error("asInteger", "quantity is not an integer or out of range")
    })
}

fn as_approximate_float(q: &Qty) -> CelDouble {
    CelDouble::from(q.0.approximate())
}

fn sign(q: &Qty) -> CelInt {
    CelInt::from(q.0.sign())
}

fn sum(function: &str, a: &Quantity, b: &Quantity) -> Result<Qty, ExecutionError> {
    a.checked_add(b)
        .map(Qty)
        .ok_or_else(|| ExecutionError::function_error(function, "quantity out of range"))
}

fn add(a: &Qty, b: &Qty) -> Result<Qty, ExecutionError> {
    sum("add", &a.0, &b.0)
}

fn add_int(a: &Qty, b: &CelInt) -> Result<Qty, ExecutionError> {
    sum("add", &a.0, &Quantity::from_i64(*b.inner()))
}

fn sub(a: &Qty, b: &Qty) -> Result<Qty, ExecutionError> {
    sum("sub", &a.0, &b.0.negated())
}

fn sub_int(a: &Qty, b: &CelInt) -> Result<Qty, ExecutionError> {
    sum("sub", &a.0, &Quantity::from_i64(*b.inner()).negated())
}

fn is_less_than(a: &Qty, b: &Qty) -> CelBool {
    (a.0 < b.0).into()
}

fn is_greater_than(a: &Qty, b: &Qty) -> CelBool {
    (a.0 > b.0).into()
}

fn compare_to(a: &Qty, b: &Qty) -> CelInt {
    CelInt::from(match a.0.cmp(&b.0) {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    })
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

/// A URL as Go's `url.ParseRequestURI` reads one: an absolute URI (with a scheme) or an
/// absolute path, no spaces or control characters, an authority that is not malformed.
#[derive(Clone, Debug, PartialEq)]
pub struct Url {
    scheme: String,
    /// As written: `host`, `host:port`, `[v6]:port`; empty without an authority.
    host: String,
    path: String,
}
opaque!(Url, URL_TYPE, "kubernetes.URL");

fn parse_url(s: &str) -> Option<Url> {
    if s.is_empty() || s.chars().any(|c| c.is_control() || c == ' ') {
        return None;
    }
    let without_query = |rest: &str| rest.split('?').next().unwrap_or("").to_string();
    if s.starts_with('/') {
        return Some(Url {
            scheme: String::new(),
            host: String::new(),
            path: without_query(s),
        });
    }
    let (scheme, rest) = s.split_once(':')?;
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return None;
    }
    let Some(after) = rest.strip_prefix("//") else {
        return Some(Url {
            scheme: scheme.to_string(),
            host: String::new(),
            path: without_query(rest),
        });
    };
    let end = after.find(['/', '?']).unwrap_or(after.len());
    let authority = &after[..end];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host_ok = match host.strip_prefix('[') {
        Some(v6) => v6
            .split_once(']')
            .is_some_and(|(ip, port)| ip.parse::<std::net::Ipv6Addr>().is_ok() && port_ok(port)),
        None => host
            .rsplit_once(':')
            .is_none_or(|(_, port)| port.chars().all(|c| c.is_ascii_digit())),
    };
    host_ok.then(|| Url {
        scheme: scheme.to_string(),
        host: host.to_string(),
        path: without_query(&after[end..]),
    })
}

fn is_url(this: &CelString<'_>) -> CelBool {
    parse_url(this.inner()).is_some().into()
}

fn url_of(text: &CelString<'_>) -> Result<Url, ExecutionError> {
    parse_url(text.inner()).ok_or_else(|| invalid("url", "URL", text.inner()))
}

fn get_scheme(url: &Url) -> CelString<'static> {
    url.scheme.clone().into()
}

fn get_host(url: &Url) -> CelString<'static> {
    url.host.clone().into()
}

/// The host without its port; an IPv6 address without its brackets.
fn hostname_and_port(url: &Url) -> (&str, &str) {
    match url.host.strip_prefix('[') {
        Some(v6) => v6
            .split_once(']')
            .map(|(ip, port)| (ip, port.trim_start_matches(':')))
            .unwrap_or((v6, "")),
        None => url.host.rsplit_once(':').unwrap_or((&url.host, "")),
    }
}

fn get_hostname(url: &Url) -> CelString<'static> {
    hostname_and_port(url).0.to_owned().into()
}

fn get_port(url: &Url) -> CelString<'static> {
    hostname_and_port(url).1.to_owned().into()
}

fn get_escaped_path(url: &Url) -> CelString<'static> {
    url.path.clone().into()
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
    cidr(this.inner()).is_some().into()
}
