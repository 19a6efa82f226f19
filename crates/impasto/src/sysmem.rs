//! What the operating system says about memory: the machine's, and the limit of the control
//! group the process runs in (a Slurm task's `--mem`, a Kubernetes container's memory limit,
//! `docker run -m`), which the machine's figures do not show.

use std::path::{Path, PathBuf};

/// Bytes of memory available to new allocations, if known: Linux `MemAvailable`, or less
/// where a control group's limit leaves less room.
pub fn available_bytes() -> Option<u64> {
    let host = meminfo_available();
    let cgroup = std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|own| cgroup_headroom(Path::new("/sys/fs/cgroup"), &own));
    match (host, cgroup) {
        (Some(h), Some(c)) => Some(h.min(c)),
        (h, c) => h.or(c),
    }
}

fn meminfo_available() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Peak resident memory of this process so far (Linux `VmHWM`), in bytes, if known.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The least room under the memory limits of the process's control group and its ancestors,
/// under `root` (the cgroup mount), given `/proc/self/cgroup`'s text `own`: a limit less what
/// is charged to the group, counting its inactive file cache as free (the kernel reclaims it
/// before it kills). Unified (v2) groups and v1's memory controller; `None` without a limit.
pub fn cgroup_headroom(root: &Path, own: &str) -> Option<u64> {
    let mut room: Option<u64> = None;
    for line in own.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let (base, files) = match controllers {
            "" => (root.to_path_buf(), V2),
            c if c.split(',').any(|c| c == "memory") => (root.join("memory"), V1),
            _ => continue,
        };
        for dir in ancestors(&base, path) {
            if let Some(r) = group_room(&dir, files) {
                room = Some(room.map_or(r, |m| m.min(r)));
            }
        }
    }
    room
}

/// The files a cgroup version keeps its limit, charge and statistics in, and the name of the
/// inactive file cache among the statistics.
struct Files {
    limit: &'static str,
    usage: &'static str,
    inactive_file: &'static str,
}

const V2: &Files = &Files {
    limit: "memory.max",
    usage: "memory.current",
    inactive_file: "inactive_file",
};

const V1: &Files = &Files {
    limit: "memory.limit_in_bytes",
    usage: "memory.usage_in_bytes",
    inactive_file: "total_inactive_file",
};

/// A limit this large means none (v1 writes 2^63 rounded down to a page).
const NO_LIMIT: u64 = 1 << 62;

/// `base/path` and each folder above it up to `base`, where they exist (inside a container
/// the group's path may name folders the container does not see).
fn ancestors(base: &Path, path: &str) -> Vec<PathBuf> {
    let mut dir = base.to_path_buf();
    let mut out = vec![dir.clone()];
    for part in path.split('/').filter(|p| !p.is_empty()) {
        dir = dir.join(part);
        out.push(dir.clone());
    }
    out.into_iter().filter(|d| d.is_dir()).collect()
}

fn group_room(dir: &Path, f: &Files) -> Option<u64> {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let limit: u64 = read(f.limit)?.trim().parse().ok()?; // "max" (v2): no limit
    if limit >= NO_LIMIT {
        return None;
    }
    let usage: u64 = read(f.usage)?.trim().parse().ok()?;
    let cache = read("memory.stat")
        .and_then(|stat| {
            stat.lines().find_map(|l| {
                l.strip_prefix(f.inactive_file)?
                    .strip_prefix(' ')?
                    .trim()
                    .parse()
                    .ok()
            })
        })
        .unwrap_or(0);
    Some(limit.saturating_sub(usage.saturating_sub(cache)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(dir: &Path, files: &[(&str, &str)]) {
        std::fs::create_dir_all(dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }

    #[test]
    fn a_control_groups_limit_bounds_the_room() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        // v2: a job's group of 4 GiB with 1 GiB charged, 256 MiB of it inactive file cache,
        // under a parent without a limit.
        group(
            r,
            &[("memory.max", "max\n"), ("memory.current", "9000000000\n")],
        );
        group(
            &r.join("job/step"),
            &[
                ("memory.max", "4294967296\n"),
                ("memory.current", "1073741824\n"),
                (
                    "memory.stat",
                    "anon 800000000\ninactive_file 268435456\nactive_file 5\n",
                ),
            ],
        );
        let room = cgroup_headroom(r, "0::/job/step\n").unwrap();
        assert_eq!(room, 4294967296 - (1073741824 - 268435456));
        // A parent's tighter limit wins.
        group(
            &r.join("job"),
            &[
                ("memory.max", "2147483648\n"),
                ("memory.current", "1073741824\n"),
            ],
        );
        assert_eq!(cgroup_headroom(r, "0::/job/step\n"), Some(1073741824));
        // No limit anywhere, or a path the container does not see: no bound.
        assert_eq!(cgroup_headroom(r, "0::/\n"), None);
        assert_eq!(cgroup_headroom(r, "0::/elsewhere\n"), None);
        // v1's memory controller, beside other controllers; its "unlimited".
        group(
            &r.join("memory/slurm/job_7"),
            &[
                ("memory.limit_in_bytes", "1073741824\n"),
                ("memory.usage_in_bytes", "73741824\n"),
                ("memory.stat", "cache 5\ntotal_inactive_file 0\n"),
            ],
        );
        group(
            &r.join("memory"),
            &[
                ("memory.limit_in_bytes", "9223372036854771712\n"),
                ("memory.usage_in_bytes", "1\n"),
            ],
        );
        let v1 = "4:memory:/slurm/job_7\n3:cpu,cpuacct:/slurm/job_7\n";
        assert_eq!(cgroup_headroom(r, v1), Some(1_000_000_000));
        assert_eq!(cgroup_headroom(r, "4:memory:/\n"), None);
    }
}
