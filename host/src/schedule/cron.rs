//! Five-field cron expressions (`minute hour day-of-month month day-of-week`), in UTC.
//!
//! Each field is `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, or a comma list
//! of those. Day of week is 0-7 with 0 and 7 both Sunday. As in classic cron, when both
//! day fields are restricted a day matching either runs.

use time::{Duration, OffsetDateTime, Time};

/// A parsed expression: the allowed values of each field as bit sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    days_restricted: bool,
    weekdays_restricted: bool,
}

fn field(text: &str, name: &str, min: u32, max: u32) -> Result<u64, String> {
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("{name}: `{part}` has a bad step"))?;
                (range, step)
            }
            None => (part, 1),
        };
        let number = |n: &str| -> Result<u32, String> {
            n.parse::<u32>()
                .ok()
                .filter(|v| (min..=max).contains(v))
                .ok_or_else(|| format!("{name}: `{n}` is not a number from {min} to {max}"))
        };
        let (low, high) = match range {
            "*" => (min, max),
            _ => match range.split_once('-') {
                Some((a, b)) => (number(a)?, number(b)?),
                None if step > 1 => (number(range)?, max),
                None => (number(range)?, number(range)?),
            },
        };
        if low > high {
            return Err(format!("{name}: `{part}` runs backwards"));
        }
        let mut value = low;
        while value <= high {
            bits |= 1 << value;
            value += step;
        }
    }
    Ok(bits)
}

impl std::str::FromStr for Cron {
    type Err = String;

    fn from_str(text: &str) -> Result<Cron, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [minute, hour, day, month, weekday] = fields.as_slice() else {
            return Err(format!(
                "`{text}`: a cron expression has five fields (minute hour day month weekday)"
            ));
        };
        let mut weekdays = field(weekday, "day of week", 0, 7)?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        Ok(Cron {
            minutes: field(minute, "minute", 0, 59)?,
            hours: field(hour, "hour", 0, 23)?,
            days: field(day, "day of month", 1, 31)?,
            months: field(month, "month", 1, 12)?,
            weekdays,
            days_restricted: *day != "*",
            weekdays_restricted: *weekday != "*",
        })
    }
}

impl Cron {
    fn day_matches(&self, at: OffsetDateTime) -> bool {
        let day = self.days & (1 << at.day()) != 0;
        let weekday = self.weekdays & (1 << at.weekday().number_days_from_sunday()) != 0;
        match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => day || weekday,
            (true, false) => day,
            (false, true) => weekday,
            (false, false) => true,
        }
    }

    /// The first matching minute strictly after `after`, within eight years (an
    /// expression such as `0 0 31 2 *` never matches: `None`).
    pub fn next_after(&self, after: OffsetDateTime) -> Option<OffsetDateTime> {
        let after = after.to_offset(time::UtcOffset::UTC);
        let mut at =
            after.replace_second(0).ok()?.replace_nanosecond(0).ok()? + Duration::minutes(1);
        let limit = after + Duration::days(8 * 366);
        while at <= limit {
            if self.months & (1 << u8::from(at.month())) == 0 || !self.day_matches(at) {
                at = at.replace_time(Time::MIDNIGHT) + Duration::days(1);
                continue;
            }
            if self.hours & (1 << at.hour()) == 0 {
                at = at.replace_minute(0).ok()? + Duration::hours(1);
                continue;
            }
            if self.minutes & (1 << at.minute()) == 0 {
                at += Duration::minutes(1);
                continue;
            }
            return Some(at);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn next(expression: &str, after: OffsetDateTime) -> OffsetDateTime {
        expression
            .parse::<Cron>()
            .unwrap()
            .next_after(after)
            .unwrap()
    }

    #[test]
    fn steps_ranges_and_lists() {
        let at = datetime!(2026-11-27 10:07:30 UTC);
        assert_eq!(next("*/15 * * * *", at), datetime!(2026-11-27 10:15 UTC));
        assert_eq!(next("0 * * * *", at), datetime!(2026-11-27 11:00 UTC));
        assert_eq!(next("5,50 9-17 * * *", at), datetime!(2026-11-27 10:50 UTC));
        assert_eq!(next("30 2 * * *", at), datetime!(2026-11-28 02:30 UTC));
        // Strictly after: a matching minute is not repeated.
        assert_eq!(
            next("7 10 * * *", datetime!(2026-11-27 10:07 UTC)),
            datetime!(2026-11-28 10:07 UTC)
        );
    }

    #[test]
    fn days_of_week_and_month() {
        // 2026-11-27 is a Friday.
        let at = datetime!(2026-11-27 10:00 UTC);
        assert_eq!(next("0 6 * * 1", at), datetime!(2026-11-30 06:00 UTC));
        assert_eq!(next("0 6 * * 7", at), datetime!(2026-11-29 06:00 UTC));
        assert_eq!(next("0 0 1 * *", at), datetime!(2026-12-01 00:00 UTC));
        assert_eq!(next("0 0 29 2 *", at), datetime!(2028-02-29 00:00 UTC));
        // Both restricted: either day runs.
        assert_eq!(next("0 0 15 * 0", at), datetime!(2026-11-29 00:00 UTC));
        assert_eq!("0 0 31 2 *".parse::<Cron>().unwrap().next_after(at), None);
    }

    #[test]
    fn bad_expressions_say_which_field() {
        for (text, says) in [
            ("* * * *", "five fields"),
            ("60 * * * *", "minute"),
            ("* 24 * * *", "hour"),
            ("* * 0 * *", "day of month"),
            ("* * * 13 *", "month"),
            ("* * * * 8", "day of week"),
            ("*/0 * * * *", "step"),
            ("5-1 * * * *", "backwards"),
        ] {
            let error = text.parse::<Cron>().unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
        }
    }
}
