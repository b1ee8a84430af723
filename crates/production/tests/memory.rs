//! Memory must not grow with the size of a production. Each protection packages a 64 MiB and
//! then a 512 MiB record in a process of its own (this test binary, run again for one ignored
//! test), which reports its peak resident memory (VmHWM) after each. Not a timing test.

mod common;

use std::process::Command;

use custodian_core::DataCategory;
use custodian_production::{AgeRecipient, Options, PackageBuilder, Passphrase, Protection, Record};
use tokio::io::{AsyncRead, ReadBuf};

const CHILD: &str = "CUSTODIAN_PRODUCTION_MEMORY_CHILD";
const SMALL: u64 = 64 << 20;
const LARGE: u64 = 512 << 20;

#[test]
fn peak_memory_does_not_grow_with_the_production() {
    if !cfg!(target_os = "linux") {
        common::announce("SKIPPED memory test: VmHWM is read from Linux's /proc");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    for kind in ["age", "zip"] {
        let out = Command::new(&exe)
            .args([
                "--exact",
                "package_in_a_child_process",
                "--include-ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, kind)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{kind} child failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let hwm = |label: &str| -> u64 {
            stdout
                .lines()
                // The harness may print the test's name on the same line first.
                .find_map(|l| l.split(&format!("{label} VmHWM kB: ")).nth(1))
                .unwrap_or_else(|| panic!("no {label} figure in {stdout}"))
                .trim()
                .parse()
                .unwrap()
        };
        let (small, large) = (hwm("small"), hwm("large"));
        common::announce(&format!(
            "{kind}: peak RSS {small} kB after 64 MiB, {large} kB after 512 MiB"
        ));
        assert!(
            large < 64 * 1024,
            "{kind}: {large} kB for a 512 MiB production"
        );
        assert!(
            large - small < 8 * 1024,
            "{kind}: grew from {small} kB to {large} kB"
        );
    }
}

#[test]
#[ignore = "run by peak_memory_does_not_grow_with_the_production in a process of its own"]
fn package_in_a_child_process() {
    let Ok(kind) = std::env::var(CHILD) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for (label, size) in [("small", SMALL), ("large", LARGE)] {
            let protection = match kind.as_str() {
                "age" => Protection::Age(
                    AgeRecipient::parse(&age::x25519::Identity::generate().to_public().to_string())
                        .unwrap(),
                ),
                _ => Protection::ZipAes(Passphrase::generate()),
            };
            let mut builder = PackageBuilder::new(
                common::facts(),
                common::sign_off(),
                protection,
                tokio::io::sink(),
                Options::default(),
            )
            .unwrap();
            let record = Record {
                category: DataCategory::Content,
                path: "videos/long.mp4".into(),
                size: Some(size),
            };
            builder
                .add_record(record, Repeating::new(size))
                .await
                .unwrap();
            let sealed = builder.seal().await.unwrap();
            let audit = common::Log::new(1).prove(&sealed);
            let done = sealed.finish(audit).await.unwrap();
            assert!(done.package_bytes > size);
            println!("{label} VmHWM kB: {}", vm_hwm_kib());
        }
    });
}

/// Peak resident set size of this process, from /proc/self/status.
fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// A long stream made by copying one pseudo-random mebibyte over and over (fast even in a
/// debug build), never holding more than that block.
struct Repeating {
    block: Vec<u8>,
    at: usize,
    remaining: u64,
}

impl Repeating {
    fn new(len: u64) -> Repeating {
        Repeating {
            block: common::Generated::bytes(7, 1 << 20),
            at: 0,
            remaining: len,
        }
    }
}

impl AsyncRead for Repeating {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let this = &mut *self;
        let n = (buf.remaining() as u64)
            .min(this.remaining)
            .min((this.block.len() - this.at) as u64) as usize;
        buf.put_slice(&this.block[this.at..this.at + n]);
        this.at = (this.at + n) % this.block.len();
        this.remaining -= n as u64;
        std::task::Poll::Ready(Ok(()))
    }
}
