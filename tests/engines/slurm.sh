# A one-node Slurm cluster on this machine, without systemd (sourced by
# tests/engines/run): munged, slurmctld and slurmd in the foreground as
# background jobs of the suite's shell, every file (key, socket,
# slurm.conf, state, spool, logs) under $ENG/slurm. The daemons' PIDs are
# recorded and `slurm_stop` kills exactly those: never by name, so a Slurm
# or munge the machine runs itself is not touched.
#
# Exports SLURM_CONF, which every Slurm command (sbatch, squeue, scancel,
# scontrol, sacct) reads to find this cluster instead of /etc/slurm.

SLURM_PIDS=()

slurm_init() {
    local dir=$ENG/slurm host cpus
    mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/logs"
    chmod 700 "$dir/munge"
    # munged refuses a key that others can read; 1 KiB of randomness is
    # what `mungekey` writes.
    head -c 1024 /dev/urandom >"$dir/munge/munge.key"
    chmod 400 "$dir/munge/munge.key"
    host=$(hostname -s)
    cpus=$(nproc)
    # Two CPUs at least: the array runs two tasks at once (%2) and the
    # dependent merge job must find a slot beside nothing else.
    [ "$cpus" -ge 2 ] || cpus=2
    cat >"$dir/slurm.conf" <<CONF
ClusterName=smtptls-engines
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=${SLURM_CTLD_PORT:-16817}
SlurmdPort=${SLURMD_PORT:-16818}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/logs/slurmctld.log
SlurmdLogFile=$dir/logs/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No systemd and no cgroups: processes are tracked by their parent links,
# and tasks are not bound to CPUs.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
LaunchType=launch/slurm
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
# Finished jobs stay known to slurmctld (scontrol show job, squeue -t all)
# long enough for the suite to read their states and exit codes.
MinJobAge=600
# A cancelled task gets SIGTERM, then SIGKILL this many seconds later:
# smtptls writes its unfinished rows on SIGTERM well within it.
KillWait=10
ReturnToService=2
SchedulerType=sched/backfill
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=lab Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    export SLURM_CONF=$dir/slurm.conf
}

slurm_remember() {
    SLURM_PIDS+=("$1")
    echo "$1 $2" >>"$ENG/pids"
}

slurm_start() {
    local dir=$ENG/slurm
    munged --foreground --force --key-file="$dir/munge/munge.key" \
        --socket="$dir/munge/munge.socket" --pid-file="$dir/munge/munged.pid" \
        --seed-file="$dir/munge/munged.seed" --log-file="$dir/logs/munged.log" \
        >>"$dir/logs/munged.out" 2>&1 &
    slurm_remember $! munged
    engines_wait_for "munged answers" munge --socket="$dir/munge/munge.socket" -n
    # -D: foreground; -i: ignore a saved state (a fresh cluster each run).
    slurmctld -D -i -f "$SLURM_CONF" >>"$dir/logs/slurmctld.out" 2>&1 &
    slurm_remember $! slurmctld
    slurmd -D -f "$SLURM_CONF" >>"$dir/logs/slurmd.out" 2>&1 &
    slurm_remember $! slurmd
    engines_wait_for "the node is idle (sinfo)" slurm_node_idle
    sinfo
}

slurm_node_idle() {
    [ "$(sinfo -h -N -o '%T' 2>/dev/null)" = idle ]
}

slurm_stop() {
    local pid
    for pid in "${SLURM_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${SLURM_PIDS[@]}"; do
        # up to 5 s for each to exit on its own
        for _ in $(seq 1 20); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.25
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    SLURM_PIDS=()
}

# engines_wait_for DESCRIPTION COMMAND… — retry for up to 30 s.
engines_wait_for() {
    local what=$1
    shift
    for _ in $(seq 1 120); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.25
    done
    echo "engines: timed out waiting until $what" >&2
    return 1
}
