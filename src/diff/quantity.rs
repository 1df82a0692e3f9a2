//! Kubernetes resource quantities (`500m`, `1Gi`, `1e3`), compared by value the way the API
//! server canonicalises them: Git may say `1000m` or `0.5` where the live object says `1` or
//! `500m`, and that is not a difference.

/// A quantity as an exact decimal: `mantissa × 10^exponent`, with trailing zeros moved into
/// the exponent so that equal values have equal representations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    mantissa: i128,
    exponent: i32,
}

/// Parses a quantity string (or the JSON number a manifest wrote instead). `None` when the
/// text is not a quantity or too large to hold exactly.
pub fn parse(text: &str) -> Option<Quantity> {
    let text = text.trim();
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let number_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_len);
    if number.is_empty() || number == "." || number.matches('.').count() > 1 {
        return None;
    }
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    let digits = format!("{int_part}{frac_part}");
    if digits.len() > 30 {
        return None;
    }
    let mut mantissa: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    let mut exponent = -(frac_part.len() as i32);
    match suffix {
        "" => {}
        "n" => exponent -= 9,
        "u" => exponent -= 6,
        "m" => exponent -= 3,
        "k" => exponent += 3,
        "M" => exponent += 6,
        "G" => exponent += 9,
        "T" => exponent += 12,
        "P" => exponent += 15,
        "E" => exponent += 18,
        "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => {
            let power = match suffix {
                "Ki" => 10,
                "Mi" => 20,
                "Gi" => 30,
                "Ti" => 40,
                "Pi" => 50,
                _ => 60,
            };
            mantissa = mantissa.checked_mul(1i128.checked_shl(power)?)?;
        }
        _ => {
            let exp = suffix
                .strip_prefix('e')
                .or_else(|| suffix.strip_prefix('E'))?;
            exponent = exponent.checked_add(exp.parse::<i32>().ok()?)?;
        }
    }
    if negative {
        mantissa = -mantissa;
    }
    Some(Quantity::new(mantissa, exponent))
}

impl Quantity {
    fn new(mut mantissa: i128, mut exponent: i32) -> Quantity {
        if mantissa == 0 {
            return Quantity {
                mantissa: 0,
                exponent: 0,
            };
        }
        while mantissa % 10 == 0 {
            mantissa /= 10;
            exponent += 1;
        }
        Quantity { mantissa, exponent }
    }
}

/// Quantities order by value (`1` > `500m`), which is what a request-within-limit check needs.
impl Ord for Quantity {
    fn cmp(&self, other: &Quantity) -> std::cmp::Ordering {
        let exponent = self.exponent.min(other.exponent);
        let scaled = |q: &Quantity| {
            u32::try_from(q.exponent - exponent)
                .ok()
                .and_then(|e| 10i128.checked_pow(e))
                .and_then(|p| q.mantissa.checked_mul(p))
        };
        match (scaled(self), scaled(other)) {
            (Some(a), Some(b)) => a.cmp(&b),
            // Too far apart to align exactly: the magnitudes decide.
            _ => self.approximate().total_cmp(&other.approximate()),
        }
    }
}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Quantity) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Quantity {
    pub fn approximate(&self) -> f64 {
        self.mantissa as f64 * 10f64.powi(self.exponent)
    }

    /// -1, 0 or 1.
    pub fn sign(&self) -> i64 {
        self.mantissa.signum() as i64
    }

    /// True when the value is a whole number.
    pub fn is_integer(&self) -> bool {
        self.exponent >= 0
    }

    /// The value as an `i64`, when it is a whole number that fits.
    pub fn as_i64(&self) -> Option<i64> {
        let exp = u32::try_from(self.exponent).ok()?;
        let value = self.mantissa.checked_mul(10i128.checked_pow(exp)?)?;
        i64::try_from(value).ok()
    }

    /// The exact sum, when it fits.
    pub fn checked_add(&self, other: &Quantity) -> Option<Quantity> {
        let exponent = self.exponent.min(other.exponent);
        let scaled = |q: &Quantity| {
            u32::try_from(q.exponent - exponent)
                .ok()
                .and_then(|e| 10i128.checked_pow(e))
                .and_then(|p| q.mantissa.checked_mul(p))
        };
        Some(Quantity::new(
            scaled(self)?.checked_add(scaled(other)?)?,
            exponent,
        ))
    }

    pub fn negated(&self) -> Quantity {
        Quantity::new(-self.mantissa, self.exponent)
    }

    pub fn from_i64(value: i64) -> Quantity {
        Quantity::new(i128::from(value), 0)
    }

    pub fn is_negative(&self) -> bool {
        self.mantissa < 0
    }
}

/// True when both values are quantities (strings or numbers) with the same value.
pub fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (as_quantity(a), as_quantity(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

fn as_quantity(value: &serde_json::Value) -> Option<Quantity> {
    match value {
        serde_json::Value::String(s) => parse(s),
        serde_json::Value::Number(n) => parse(&n.to_string()),
        _ => None,
    }
}

/// Keys whose values (maps of resource name to quantity) hold quantities in built-in kinds:
/// container and pod resources, quotas, limit ranges, volume capacities.
const QUANTITY_MAPS: &[&str] = &[
    "limits",
    "requests",
    "hard",
    "capacity",
    "allocatable",
    "overhead",
    "default",
    "defaultRequest",
    "max",
    "min",
    "maxLimitRequestRatio",
];

/// True when a value at `key` inside a map at `parent_key` is a quantity.
pub fn is_quantity_field(parent_key: Option<&str>, key: &str) -> bool {
    key == "sizeLimit" || parent_key.is_some_and(|p| QUANTITY_MAPS.contains(&p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quantities_order_by_value() {
        let q = |s: &str| parse(s).expect("a quantity");
        assert!(q("2") > q("1"));
        assert!(q("500m") < q("1"));
        assert!(q("1Gi") > q("1G"));
        assert_eq!(q("1000m").cmp(&q("1")), std::cmp::Ordering::Equal);
        assert!(q("1E") > q("1n"));
        assert!(q("-1").is_negative());
    }

    #[test]
    fn equal_values_compare_equal_whatever_the_spelling() {
        assert_eq!(parse("1000m"), parse("1"));
        assert_eq!(parse("0.5"), parse("500m"));
        assert_eq!(parse("1024Mi"), parse("1Gi"));
        assert_eq!(parse("1Gi"), parse("1073741824"));
        assert_eq!(parse("1e3"), parse("1k"));
        assert_eq!(parse("1.5Gi"), parse("1536Mi"));
        assert_eq!(parse("0"), parse("0m"));
        assert_ne!(parse("1G"), parse("1Gi"));
        assert_ne!(parse("100m"), parse("1"));
    }

    #[test]
    fn rejects_what_is_not_a_quantity() {
        for text in ["", "abc", "1.2.3", "1Xi", "m", ".", "--1"] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    #[test]
    fn numbers_and_strings_compare() {
        assert!(same(&json!(1), &json!("1000m")));
        assert!(same(&json!(0.25), &json!("250m")));
        assert!(!same(&json!("2"), &json!("1")));
        assert!(!same(&json!("x"), &json!("x")));
    }

    #[test]
    fn knows_where_quantities_live() {
        assert!(is_quantity_field(Some("limits"), "cpu"));
        assert!(is_quantity_field(Some("requests"), "storage"));
        assert!(is_quantity_field(Some("emptyDir"), "sizeLimit"));
        assert!(!is_quantity_field(Some("env"), "value"));
    }
}
