//! Which part of a job this process does: `--shard I/N`, or the index a scheduler gives its
//! task (Slurm job arrays, Kubernetes Indexed Jobs). Items go to shards by their place in
//! the job's sorted list, so every shard, on any machine, agrees on who does what.

use std::fmt;

use impasto_io::{Error, Result};

/// Shard `index` of `count` (from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: usize,
    /// How many shards share the job.
    pub count: usize,
}

impl Shard {
    /// The whole job in one shard.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// True when the item at `position` of the sorted job is this shard's.
    pub fn owns(&self, position: usize) -> bool {
        position % self.count == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Parses `I/N` with `I < N`.
pub fn parse(s: &str) -> std::result::Result<Shard, String> {
    let bad = || format!("`{s}` is not a shard: use I/N with 0 ≤ I < N, e.g. 0/4");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (index, count) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    match index < count {
        true => Ok(Shard { index, count }),
        false => Err(bad()),
    }
}

/// The shard to do: `given` (`--shard`), else the scheduler's, read through `var`
/// (`std::env::var` in use): a Slurm array task's place in its array (or its id, when
/// `IMPASTO_SHARD_COUNT` gives the count), a Kubernetes Indexed Job's completion index with
/// `IMPASTO_SHARD_COUNT`. A half-set or inconsistent scheduler index is an error.
pub fn choose(given: Option<Shard>, var: impl Fn(&str) -> Option<String>) -> Result<Shard> {
    if let Some(s) = given {
        return Ok(s);
    }
    let number = |name: &str| -> Result<Option<usize>> {
        var(name)
            .map(|v| {
                v.trim()
                    .parse::<usize>()
                    .map_err(|_| Error::Usage(format!("${name} is `{v}`, not a whole number ≥ 0")))
            })
            .transpose()
    };
    let shards = number("IMPASTO_SHARD_COUNT")?;
    if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
        // A count of its own makes the task id the shard, so some shards can be rerun
        // alone (`sbatch --array=1,3` with IMPASTO_SHARD_COUNT=4).
        if let Some(count) = shards {
            return match id < count {
                true => Ok(Shard { index: id, count }),
                false => Err(Error::Usage(format!(
                    "Slurm array task {id} is not below $IMPASTO_SHARD_COUNT {count}; number the tasks 0..{count}"
                ))),
            };
        }
        let count = number("SLURM_ARRAY_TASK_COUNT")?.ok_or_else(|| {
            Error::Usage("$SLURM_ARRAY_TASK_ID is set but $SLURM_ARRAY_TASK_COUNT is not: submit with sbatch --array, or give --shard I/N".into())
        })?;
        let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let step = number("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
        let index = id.checked_sub(min).map(|d| d / step);
        return match index {
            Some(index) if index < count && (id - min) % step == 0 => Ok(Shard { index, count }),
            _ => Err(Error::Usage(format!(
                "Slurm array task {id} does not fit an array of {count} tasks from {min} by {step}; submit a range such as --array=0-{}, or set IMPASTO_SHARD_COUNT", count - 1
            ))),
        };
    }
    if let Some(index) = number("JOB_COMPLETION_INDEX")? {
        let count = shards.ok_or_else(|| {
            Error::Usage("$JOB_COMPLETION_INDEX is set but $IMPASTO_SHARD_COUNT is not: set it to the Job's .spec.completions (see deploy/k8s), or give --shard I/N".into())
        })?;
        return match index < count {
            true => Ok(Shard { index, count }),
            false => Err(Error::Usage(format!(
                "$JOB_COMPLETION_INDEX {index} is not below $IMPASTO_SHARD_COUNT {count}; set it to the Job's .spec.completions"
            ))),
        };
    }
    Ok(Shard::WHOLE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn every_item_goes_to_exactly_one_shard() {
        for n in [1, 2, 3, 4, 7, 16] {
            for items in [0, 1, 5, 16, 101] {
                let mut owners = vec![0; items];
                for index in 0..n {
                    let s = Shard { index, count: n };
                    (0..items)
                        .filter(|&p| s.owns(p))
                        .for_each(|p| owners[p] += 1);
                }
                assert!(owners.iter().all(|&o| o == 1), "n={n} items={items}");
                let sizes: Vec<usize> = (0..n)
                    .map(|index| {
                        (0..items)
                            .filter(|&p| Shard { index, count: n }.owns(p))
                            .count()
                    })
                    .collect();
                let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(hi - lo <= 1, "shards balanced: {sizes:?}");
            }
        }
    }

    #[test]
    fn shards_come_from_the_flag_or_the_scheduler() {
        assert_eq!(parse("2/5"), Ok(Shard { index: 2, count: 5 }));
        for bad in ["5/5", "1", "a/2", "-1/2", "0/0"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let flag = Shard { index: 1, count: 2 };
        assert_eq!(
            choose(Some(flag), env(&[("SLURM_ARRAY_TASK_ID", "0")])).unwrap(),
            flag
        );
        assert_eq!(choose(None, env(&[])).unwrap(), Shard::WHOLE);
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", "12"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
            ("SLURM_ARRAY_TASK_MIN", "10"),
        ];
        assert_eq!(
            choose(None, env(&slurm)).unwrap(),
            Shard { index: 2, count: 3 }
        );
        let rerun = [
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "2"),
            ("IMPASTO_SHARD_COUNT", "4"),
        ];
        assert_eq!(
            choose(None, env(&rerun)).unwrap(),
            Shard { index: 3, count: 4 }
        );
        let k8s = [("JOB_COMPLETION_INDEX", "3"), ("IMPASTO_SHARD_COUNT", "4")];
        assert_eq!(
            choose(None, env(&k8s)).unwrap(),
            Shard { index: 3, count: 4 }
        );
        for bad in [
            &[("SLURM_ARRAY_TASK_ID", "1")][..],
            &[
                ("SLURM_ARRAY_TASK_ID", "5"),
                ("SLURM_ARRAY_TASK_COUNT", "3"),
            ],
            &[("JOB_COMPLETION_INDEX", "0")],
            &[("SLURM_ARRAY_TASK_ID", "4"), ("IMPASTO_SHARD_COUNT", "4")],
            &[("JOB_COMPLETION_INDEX", "4"), ("IMPASTO_SHARD_COUNT", "4")],
            &[("JOB_COMPLETION_INDEX", "x"), ("IMPASTO_SHARD_COUNT", "4")],
        ] {
            assert!(choose(None, env(bad)).is_err(), "{bad:?}");
        }
    }
}
