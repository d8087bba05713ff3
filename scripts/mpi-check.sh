#!/usr/bin/env bash
# Measures the mpi node against the threads node on this machine, one thread per process, for
# the seed preset and the full preset at 2048x2048: wall time (min and median of REPEAT runs)
# and efficiency = the threads node's wall on the same number of computing cores (at most the
# machine's) / this wall. Then prints the measured rank links.
# On a shared machine each run waits for an idle moment, and a run during which other processes
# took more than a tenth of a core is repeated; runs go round-robin over the configurations.
# Usage: scripts/mpi-check.sh [TOOL] [REPEAT]   (TOOL: a hetero whose main calls the MPI hook)
set -euo pipefail

tool=${1:-build/host/hetero}
repeat=${2:-5}
launcher=(mpirun --oversubscribe)
if [ "$(id -u)" -eq 0 ]; then launcher+=(--allow-run-as-root); fi

python3 - "$tool" "$repeat" "${launcher[@]}" <<'EOF'
import json, os, resource, statistics, subprocess, sys, time

tool, repeat, launcher = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
cores = os.cpu_count()
jobs = {"seed": ["--preset", "seed"],
        "full": ["--preset", "full", "--width", "2048", "--height", "2048"]}
ranks = ["--rank-backend", "threads", "--threads", "1"]


def configurations(job):
    j = jobs[job]
    mpi = lambda n, backends: launcher + ["-np", str(n), tool, "render", "--backend", backends]
    return [
        ("threads --threads 1", 1, [tool, "render", "--backend", "threads", "--threads", "1"] + j),
        ("threads --threads 2", 2, [tool, "render", "--backend", "threads", "--threads", "2"] + j),
        ("mpirun -np 1, threads --threads 1", 1,
         launcher + ["-np", "1", tool, "render", "--backend", "threads", "--threads", "1"] + j),
        ("mpirun -np 2, mpi (1 computing rank)", 1, mpi(2, "mpi") + ranks + j),
        ("mpirun -np 3, mpi (2 computing ranks)", 2, mpi(3, "mpi") + ranks + j),
        ("mpirun -np 2, mpi,threads (rank 0 computes)", 2, mpi(2, "mpi,threads") + ranks + j),
        ("mpirun -np 3, mpi,threads (rank 0 computes)", 3, mpi(3, "mpi,threads") + ranks + j),
    ]


def cpu_ticks():
    fields = list(map(int, open("/proc/stat").readline().split()[1:9]))
    return sum(fields), fields[3]


def idle_fraction(seconds):
    total0, idle0 = cpu_ticks()
    time.sleep(seconds)
    total1, idle1 = cpu_ticks()
    return (idle1 - idle0) / max(1, total1 - total0)


def measure(command):
    """Wall time of one run's report, retried while other processes disturbed it."""
    ticks_per_s = os.sysconf("SC_CLK_TCK")
    for _ in range(8):
        waited = 0
        while idle_fraction(0.5) < 0.9 and waited < 600:
            waited += 1
        usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        total0, idle0 = cpu_ticks()
        start = time.time()
        run = subprocess.run(command + ["--json", "-"], capture_output=True, text=True)
        elapsed = time.time() - start
        usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        total1, idle1 = cpu_ticks()
        if run.returncode != 0:
            sys.exit(f"mpi-check: {' '.join(command)} failed: {run.stderr.strip()}")
        ours = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
        others = ((total1 - total0) - (idle1 - idle0)) / ticks_per_s - ours
        report = json.loads(run.stdout)
        if others / elapsed < 0.1:
            break
    return report


expected = {}
for job in jobs:
    serial = subprocess.run([tool, "render", "--backend", "serial", *jobs[job], "--json", "-"],
                            capture_output=True, text=True, check=True)
    expected[job] = json.loads(serial.stdout)["checksum"]["sum"]

walls = {}
for _ in range(repeat):
    for job in jobs:
        for label, computing, command in configurations(job):
            report = measure(command)
            if report["checksum"]["sum"] != expected[job]:
                sys.exit(f"mpi-check: {label} on {job}: checksum {report['checksum']['sum']} "
                         f"differs from serial's {expected[job]}")
            walls.setdefault((job, label, computing), []).append(report["wall_s"])

print(f"hetero mpi check: {cores} cores, {repeat} runs each, scalar kernel, 1 thread per process")
print(f"{'job':<6} {'configuration':<44} {'min s':>8} {'median s':>9} {'eff min':>8} {'eff med':>8}")
baseline = {}
for (job, label, computing), values in walls.items():
    fastest, middle = min(values), statistics.median(values)
    key = (job, min(computing, cores))
    if label.startswith("threads"):
        baseline[key] = (fastest, middle)
    reference = baseline[key]
    note = f"  oversubscribed: {computing} processes on {cores} cores" if computing > cores else ""
    print(f"{job:<6} {label:<44} {fastest:8.4f} {middle:9.4f} {reference[0] / fastest:8.3f} "
          f"{reference[1] / middle:8.3f}{note}")

print("\nrank links (hetero devices under mpirun -np 3):")
devices = subprocess.run(launcher + ["-np", "3", tool, "devices"], capture_output=True, text=True)
for line in devices.stdout.splitlines():
    if line.startswith("mpi") or "device: rank" in line:
        print(line)
EOF
