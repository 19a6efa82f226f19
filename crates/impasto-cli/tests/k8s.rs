//! `deploy/k8s/impasto-batch-job.yaml` against the environment contract of `impasto batch`: an
//! Indexed Job whose IMPASTO_SHARD_COUNT equals its completions, retried per index; and its
//! command, run once per index as Kubernetes would (JOB_COMPLETION_INDEX), with the volume
//! mapped to a temporary folder, makes every item exactly once.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::batch::{
    assert_only_results, expected, photos, reports, results, styles, total, QUICK,
};
use common::{assert_usage_error, weights};
use serde_yaml::Value;

/// Where the manifest mounts its volume.
const VOLUME: &str = "/data";

fn manifest() -> Value {
    let path = common::repo("deploy/k8s/impasto-batch-job.yaml");
    serde_yaml::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn text(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("a string expected: {v:?}"))
}

/// The Job's only container.
fn container(job: &Value) -> &Value {
    let containers = job["spec"]["template"]["spec"]["containers"]
        .as_sequence()
        .unwrap();
    assert_eq!(containers.len(), 1, "one container: {containers:?}");
    &containers[0]
}

/// The value of the container's environment variable `name`.
fn env<'a>(container: &'a Value, name: &str) -> &'a str {
    let vars = container["env"].as_sequence().unwrap();
    let var = vars.iter().find(|v| v["name"] == name);
    text(&var.unwrap_or_else(|| panic!("no env {name}"))["value"])
}

/// The container's command line: command, then args.
fn command_line(container: &Value) -> Vec<String> {
    ["command", "args"]
        .iter()
        .flat_map(|k| container[k].as_sequence().cloned().unwrap_or_default())
        .map(|v| text(&v).to_string())
        .collect()
}

#[test]
fn the_job_is_indexed_with_its_shard_count_and_retries_per_index() {
    let job = manifest();
    assert_eq!(job["apiVersion"], "batch/v1");
    assert_eq!(job["kind"], "Job");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    let completions = spec["completions"].as_u64().unwrap();
    assert!(completions > 1, "{spec:?}");
    assert!(spec["parallelism"].as_u64().unwrap() <= completions);
    assert!(spec["backoffLimitPerIndex"].as_u64().is_some(), "{spec:?}");
    assert!(spec["maxFailedIndexes"].as_u64().unwrap() < completions);
    // Per-index retries and a pod failure policy need pods that are not restarted in place.
    assert_eq!(spec["template"]["spec"]["restartPolicy"], "Never");
    let c = container(&job);
    assert_eq!(
        env(c, "IMPASTO_SHARD_COUNT").parse::<u64>().unwrap(),
        completions
    );
    let line = command_line(c);
    assert_eq!(line[..2], ["impasto", "batch"], "{line:?}");
    assert!(!line.iter().any(|a| a.starts_with("--shard")), "{line:?}");
    assert_eq!(c["resources"]["requests"]["cpu"], "2");
    // A mistake in the command (exit 2) fails its index without retries.
    let rules = spec["podFailurePolicy"]["rules"].as_sequence().unwrap();
    let fail_index = rules.iter().find(|r| r["action"] == "FailIndex").unwrap();
    assert_eq!(fail_index["onExitCodes"]["containerName"], c["name"]);
    assert_eq!(fail_index["onExitCodes"]["operator"], "In");
    assert_eq!(fail_index["onExitCodes"]["values"][0], 2);
    // The volume is mounted where the arguments and the weights point.
    assert_eq!(c["volumeMounts"][0]["mountPath"], VOLUME);
    assert!(env(c, "IMPASTO_WEIGHTS").starts_with(VOLUME));
}

/// `arg` with the manifest's volume replaced by the folder `root`.
fn mapped(arg: &str, root: &Path) -> String {
    match arg.strip_prefix(VOLUME) {
        Some(rest) => format!("{}{rest}", root.display()),
        None => arg.to_string(),
    }
}

#[test]
fn the_jobs_indexes_make_each_item_once() {
    let job = manifest();
    let c = container(&job);
    let completions = job["spec"]["completions"].as_u64().unwrap() as usize;
    let line = command_line(c);

    // The volume as the manifest expects it: photos, a painting, the weights.
    let root = tempfile::tempdir().unwrap();
    let volume = root.path();
    let args: Vec<String> = line[1..].iter().map(|a| mapped(a, volume)).collect();
    let after = |flag: &str| {
        let at = args.iter().position(|a| a == flag);
        PathBuf::from(&args[at.unwrap_or_else(|| panic!("the manifest gives no {flag}")) + 1])
    };
    let (painting, out) = (after("--style"), after("-o"));
    std::fs::create_dir_all(painting.parent().unwrap()).unwrap();
    std::fs::copy(&styles()[0], &painting).unwrap();
    let weights_at = PathBuf::from(mapped(env(c, "IMPASTO_WEIGHTS"), volume));
    std::fs::create_dir_all(weights_at.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(weights(), &weights_at).unwrap();
    let inputs = PathBuf::from(&args[1]);
    photos(&inputs, 6);

    // A pod: the container's command and environment (paths on the volume mapped), and the
    // index Kubernetes gives it.
    let pod = |index: usize| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_impasto"));
        cmd.args(&args).args(QUICK);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("SLURM_") {
                cmd.env_remove(k);
            }
        }
        for var in c["env"].as_sequence().unwrap() {
            cmd.env(text(&var["name"]), mapped(text(&var["value"]), volume));
        }
        cmd.env("JOB_COMPLETION_INDEX", index.to_string());
        cmd
    };

    // Without IMPASTO_SHARD_COUNT a pod's index means nothing: a mistake, exit 2.
    let lone = pod(0).env_remove("IMPASTO_SHARD_COUNT").output().unwrap();
    assert_usage_error(&lone, &["IMPASTO_SHARD_COUNT"]);

    // All indexes at once, as pods sharing the volume.
    let pods: Vec<_> = (0..completions)
        .map(|i| {
            pod(i)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, p) in pods.into_iter().enumerate() {
        let o = p.wait_with_output().unwrap();
        assert!(
            o.status.success(),
            "index {i}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let want = expected(&inputs, &[painting]);
    assert_eq!(results(&out), want);
    assert_only_results(&out);
    let r = reports(&out, completions);
    assert_eq!(total(&r, "items"), want.len() as u64, "{r:?}");
    assert_eq!(total(&r, "done"), want.len() as u64, "{r:?}");
    assert_eq!(total(&r, "skipped") + total(&r, "failed"), 0, "{r:?}");
}
