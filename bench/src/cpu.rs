//! Where the CPU went during a measured phase, from /proc (Linux only; elsewhere nothing is
//! reported). With two cores shared by the servers and the load generator, this tells whether
//! a run was bound by the processor or waited on the disk.

use std::time::Instant;

use serde::Serialize;

/// Counters at one instant.
pub struct Snapshot {
    at: Instant,
    /// The `cpu` line of /proc/stat: user, nice, system, idle, iowait, irq, softirq, steal.
    system: Option<[u64; 8]>,
    this_process: Option<u64>,
    server: Option<u64>,
}

/// CPU use between two snapshots.
#[derive(Debug, Clone, Serialize)]
pub struct Usage {
    /// Share of all cores' time that was busy (not idle, not waiting on I/O), in %.
    pub machine_busy_pct: Option<f64>,
    /// Share of all cores' time spent idle waiting on I/O, in %.
    pub machine_iowait_pct: Option<f64>,
    /// Share stolen by the hypervisor, in %.
    pub machine_steal_pct: Option<f64>,
    /// Cores used on average by this process (the load generator, and the bare handler).
    pub bench_process_cores: Option<f64>,
    /// Cores used on average by the `custodian serve` process (PostgreSQL's own processes are
    /// not counted here, only in the machine's share).
    pub server_process_cores: Option<f64>,
    /// Busy cores not accounted for by the two above: PostgreSQL, the kernel's own threads
    /// (writeback, journal) and any other process on the machine.
    pub other_cores: Option<f64>,
}

/// The 1-minute load average, when the system tells it.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn system_counters() -> Option<[u64; 8]> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let mut out = [0u64; 8];
    let mut fields = line.split_whitespace().skip(1);
    for slot in &mut out {
        *slot = fields.next()?.parse().ok()?;
    }
    Some(out)
}

/// utime + stime of a process, in clock ticks.
fn process_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields we want come after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')' come state (field 3) ... utime is field 14 and stime field 15 of the file.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second for /proc times (USER_HZ: 100 on every mainstream Linux).
const TICKS_PER_SECOND: f64 = 100.0;

impl Snapshot {
    pub fn take(server_pid: Option<u32>) -> Snapshot {
        Snapshot {
            at: Instant::now(),
            system: system_counters(),
            this_process: process_ticks("self"),
            server: server_pid.and_then(|p| process_ticks(&p.to_string())),
        }
    }

    pub fn usage_since(&self, start: &Snapshot) -> Usage {
        let seconds = self.at.duration_since(start.at).as_secs_f64().max(1e-9);
        let cores = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / TICKS_PER_SECOND / seconds),
            _ => None,
        };
        let (busy, iowait, steal) = match (start.system, self.system) {
            (Some(a), Some(b)) => {
                let d: Vec<f64> = a
                    .iter()
                    .zip(b.iter())
                    .map(|(x, y)| y.saturating_sub(*x) as f64)
                    .collect();
                let total: f64 = d.iter().sum::<f64>().max(1.0);
                let idle = d[3] + d[4];
                (
                    Some(100.0 * (total - idle) / total),
                    Some(100.0 * d[4] / total),
                    Some(100.0 * d[7] / total),
                )
            }
            _ => (None, None, None),
        };
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let bench = cores(start.this_process, self.this_process);
        let server = cores(start.server, self.server);
        let other = busy
            .map(|b| (b / 100.0 * cpus - bench.unwrap_or(0.0) - server.unwrap_or(0.0)).max(0.0));
        Usage {
            machine_busy_pct: busy,
            machine_iowait_pct: iowait,
            machine_steal_pct: steal,
            bench_process_cores: bench,
            server_process_cores: server,
            other_cores: other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_readable_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(process_ticks("self").is_some());
            assert!(system_counters().is_some());
            assert!(load_average().is_some());
        }
    }
}
