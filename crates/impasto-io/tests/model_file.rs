//! Model and checkpoint files: bit-exact round trips, and clear errors for files that are
//! damaged, of the wrong kind, or do not fit their architecture.

use impasto::fast::{Adam, Arch, Checkpoint, FastNet, TrainSettings};
use impasto_io::model::{self, ModelMeta, StyleMeta};
use impasto_io::Error;

fn net() -> FastNet {
    let arch = Arch {
        channels: [6, 8],
        blocks: 1,
        outer_kernel: 3,
    };
    FastNet::new(arch, vec!["starry".into(), "wave".into()], 7).unwrap()
}

fn meta(net: &FastNet) -> ModelMeta {
    ModelMeta {
        arch: net.arch().clone(),
        styles: net
            .styles()
            .iter()
            .map(|n| StyleMeta {
                name: n.clone(),
                sha256: "ab".repeat(32),
            })
            .collect(),
        training: TrainSettings::default(),
        photos: 3,
        steps_done: 12,
        seconds: 4.5,
        vgg19_sha256: impasto_io::weights::WEIGHTS_SHA256.into(),
        impasto_version: "test".into(),
    }
}

#[test]
fn a_model_comes_back_bit_exact_with_its_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let n = net();
    model::save_model(&path, &n, &meta(&n)).unwrap();
    let back = model::load_model(&path).unwrap();
    assert_eq!(back.net.params(), n.params());
    assert_eq!(back.net.styles(), n.styles());
    assert_eq!(back.net.arch(), n.arch());
    assert_eq!(back.meta.styles, meta(&n).styles);
    assert_eq!(back.meta.steps_done, 12);
    assert_eq!(back.meta.vgg19_sha256, impasto_io::weights::WEIGHTS_SHA256);
}

#[test]
fn a_checkpoint_comes_back_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.safetensors");
    let n = net();
    let mut adam = Adam::new(n.params());
    adam.t = 9;
    adam.m
        .values_mut()
        .for_each(|p| p.data.iter_mut().for_each(|v| *v = 0.25));
    let cp = Checkpoint {
        step: 9,
        rng: 0xdead_beef,
        params: n.params().clone(),
        adam,
    };
    model::save_checkpoint(&path, &meta(&n), &cp).unwrap();
    let (_, back) = model::load_checkpoint(&path).unwrap();
    assert_eq!((back.step, back.rng, back.adam.t), (9, 0xdead_beef, 9));
    assert_eq!(back.params, cp.params);
    assert_eq!(back.adam.m, cp.adam.m);
    assert_eq!(back.adam.v, cp.adam.v);
    // A checkpoint is not a model, and the error says so.
    let err = model::load_model(&path).err().unwrap();
    assert!(err.to_string().contains("checkpoint"), "{err}");
}

#[test]
fn damaged_and_foreign_files_are_clear_user_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let n = net();
    model::save_model(&path, &n, &meta(&n)).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated",
            bytes[..bytes.len() / 2].to_vec(),
            "not an Impasto model",
        ),
        ("text", b"hello".to_vec(), "not an Impasto model"),
        ("empty", Vec::new(), "not an Impasto model"),
    ];
    for (what, data, words) in cases {
        let p = dir.path().join(format!("{what}.safetensors"));
        std::fs::write(&p, data).unwrap();
        let err = model::load_model(&p).err().unwrap();
        assert!(err.is_user_error(), "{what}: {err}");
        let msg = err.to_string();
        assert!(
            msg.contains(words) && msg.contains(&*p.to_string_lossy()),
            "{what}: {msg}"
        );
    }
    // Metadata that claims another architecture: the tensors no longer fit.
    let mut other = meta(&n);
    other.arch.channels = [6, 9];
    let p = dir.path().join("other.safetensors");
    model::save_model(&p, &n, &other).unwrap();
    let err = model::load_model(&p).err().unwrap();
    assert!(matches!(err, Error::Input { .. }), "{err}");
    assert!(err.to_string().contains("shape"), "{err}");
}
