#!/usr/bin/env bash
# slurm_cluster.sh - a private one-node Slurm cluster on localhost, for
# tests of the Slurm scripts (scripts/slurm/).  Everything it makes lives
# in DIR: the munge key, socket and logs, slurm.conf, the daemons' state,
# spool, pid files and logs; the ports are free ones picked at start.  So
# it never touches /etc/slurm, /etc/munge or a system munged, and two
# clusters can run side by side.
#
# usage: slurm_cluster.sh start DIR   start munged, slurmctld and slurmd
#                                     and wait until the node is idle
#        slurm_cluster.sh stop DIR    stop every daemon start started
# Then point the Slurm commands at it: export SLURM_CONF=DIR/slurm.conf
# On failure start prints why (the daemons' log tails) and exits 1; the
# daemons it did start are still stopped by `stop DIR`.
#
# Needs root (SlurmUser=root: no account switching in a test) and the
# Debian packages munge, slurmctld, slurmd and slurm-client.
set -u

# Seconds to wait for the node to register and go idle; it takes about
# one second, the rest is room for a loaded machine.
readonly READY_TIMEOUT_S=30
# Seconds a daemon gets to exit after SIGTERM before SIGKILL.
readonly STOP_TIMEOUT_S=10
# Ports are picked in 20000-29999: below Linux's ephemeral range (32768
# and up, /proc/sys/net/ipv4/ip_local_port_range), above the standard
# Slurm ports (6817-6819) and anything else well known.
readonly PORT_LOW=20000 PORT_SPAN=10000
# A daemon ends by itself after this many seconds even if `stop` never
# runs (a test killed with SIGKILL): a safety net far above a test's
# length (meson's timeout for it is 300 s).
readonly LIFETIME_S=900
# Seconds to wait for munged's socket to appear.
readonly MUNGE_TIMEOUT_S=10

die() { echo "slurm_cluster: $*" >&2; exit 1; }

# Ports in LISTEN state (TCP v4 and v6), one decimal number a line.
# (/proc/net/tcp: "sl local_address rem_address st ...", the address
# ending in :PORT in hex, state 0A is LISTEN.)
listening_ports() {
  local address state
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
    while read -r _ address _ state _; do
      [ "$state" = 0A ] && echo $((16#${address##*:}))
    done
}

# Prints a port nobody listens on, and port+1 free too (slurmctld may
# use a range; we give it one port and slurmd the next).
pick_ports() {
  local used port
  used=" $(listening_ports | tr '\n' ' ') "
  for _ in $(seq 100); do
    port=$((PORT_LOW + RANDOM % PORT_SPAN))
    case "$used" in
      *" $port "*|*" $((port + 1)) "*) continue ;;
    esac
    echo "$port"
    return 0
  done
  die "no free pair of ports in $PORT_LOW-$((PORT_LOW + PORT_SPAN))"
}

# Starts a daemon that stays in the foreground, in the background, under
# `timeout` (which passes our SIGTERM on to it), its output to a file
# and detached from our stdout, so a test runner that waits for the
# pipes to close does not wait for the daemon.  DIR/NAME.started holds
# the pid of its `timeout` (setsid execs in place: a background job of
# a script is no process group leader, so $! is setsid's pid, then
# timeout's).
start_daemon() {
  local dir=$1 name=$2
  shift 2
  setsid timeout "$LIFETIME_S" "$name" "$@" > "$dir/$name.out" 2>&1 \
    < /dev/null &
  echo $! > "$dir/$name.started"
}

# munged with its own key, socket and files (the directory is 0755: the
# socket must be reachable).  --force: as root munged refuses some
# ownerships it cannot otherwise check.
start_munge() {
  local dir=$1 socket=$1/munge/munge.socket
  mkdir -p "$dir/munge" && chmod 755 "$dir/munge"
  mungekey --create --keyfile="$dir/munge/munge.key" ||
    die "mungekey could not create a key"
  start_daemon "$dir" munged --foreground --force --socket="$socket" \
    --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/munge/munged.pid" \
    --log-file="$dir/munge/munged.log" \
    --seed-file="$dir/munge/munged.seed"
  for _ in $(seq $((MUNGE_TIMEOUT_S * 10))); do
    [ -S "$socket" ] && return 0
    sleep 0.1
  done
  show_logs "$dir" >&2
  die "munged made no socket in ${MUNGE_TIMEOUT_S}s"
}

# The configuration.  Containers have no systemd and no cgroup control
# of their own, so processes are tracked through /proc (linuxproc) and
# tasks are not bound (task/none); no accounting daemon, so the job
# record in slurmctld (kept MinJobAge seconds) is what tells the state.
# batch_sched_delay=0: start jobs as soon as they can run; the default
# waits up to 3 s to batch submissions, for busy clusters.
write_slurm_conf() {
  local dir=$1 port=$2
  cat > "$dir/slurm.conf" <<EOF
ClusterName=mallardtest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=300
SchedulerParameters=batch_sched_delay=0
NodeName=localhost CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
}

# Prints the first of the daemons that is no longer running, if any.
dead_daemon() {
  local dir=$1 name
  for name in munged slurmctld slurmd; do
    [ -d "/proc/$(cat "$dir/$name.started")" ] || { echo "$name"; return; }
  done
}

# Waits until sinfo shows the node idle; prints the log tails if not,
# at once if a daemon died (a configuration error, a port in use).
wait_until_idle() {
  local dir=$1 state dead deadline=$((SECONDS + READY_TIMEOUT_S))
  while [ $SECONDS -lt $deadline ]; do
    state=$(sinfo -h -N -o %t 2>/dev/null)
    [ "$state" = "idle" ] && return 0
    dead=$(dead_daemon "$dir")
    [ -z "$dead" ] || break
    sleep 0.2
  done
  echo "slurm_cluster: node not idle (state: ${state:-none})," \
    "${dead:+$dead exited, }waited $((SECONDS - deadline + \
    READY_TIMEOUT_S))s" >&2
  show_logs "$dir" >&2
  return 1
}

# The tail of each daemon's log, or of its output where it has no log
# (it died before opening it; -D copies the log to the output too).
show_logs() {
  local dir=$1 name log
  for name in munged slurmctld slurmd; do
    log=$dir/$name.log
    [ "$name" = munged ] && log=$dir/munge/munged.log
    [ -s "$log" ] || log=$dir/$name.out
    [ -s "$log" ] || continue
    echo "--- $log (last lines)"
    tail -15 "$log"
  done
}

# Root, for SlurmUser=root; the daemons and clients, from Debian's
# packages (scripts/install-deps --tests installs them).
check_tools() {
  local tool
  [ "$(id -u)" -eq 0 ] || die "needs root (the daemons run as root)"
  for tool in mungekey munged slurmctld slurmd sinfo sbatch; do
    command -v "$tool" > /dev/null || die "$tool not found: install" \
      "munge slurmctld slurmd slurm-client (scripts/install-deps --tests)"
  done
}

start() {
  local dir=$1 port
  check_tools
  mkdir -p "$dir/state" "$dir/spool" || die "cannot make $dir"
  start_munge "$dir"
  port=$(pick_ports) || exit 1
  write_slurm_conf "$dir" "$port"
  export SLURM_CONF=$dir/slurm.conf
  start_daemon "$dir" slurmctld -D -i
  start_daemon "$dir" slurmd -D -N localhost
  wait_until_idle "$dir" || exit 1
}

# The pid of NAME's `timeout` as DIR/NAME.started says, if it still
# runs `timeout`: a pid reused by another program is left alone.
started_pid() {
  local dir=$1 name=$2 pid
  pid=$(cat "$dir/$name.started" 2>/dev/null) || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = timeout ] || return 1
  echo "$pid"
}

# Jobs still queued or running are cancelled first: slurmstepd and the
# job's processes outlive slurmd otherwise.
cancel_jobs() {
  [ -n "$(squeue -h 2>/dev/null)" ] || return 0
  scancel --user="$(id -un)"
  for _ in $(seq $((STOP_TIMEOUT_S * 10))); do
    [ -n "$(squeue -h 2>/dev/null)" ] || return 0
    sleep 0.1
  done
}

# All daemons at once (each takes about 2 s to go); `timeout` passes
# SIGTERM on.  Past STOP_TIMEOUT_S, SIGKILL to each whole process group
# (setsid made `timeout` its leader), the daemon inside included.
stop() {
  local dir=$1 name pid pids=()
  export SLURM_CONF=$dir/slurm.conf
  started_pid "$dir" slurmctld > /dev/null && cancel_jobs
  for name in slurmd slurmctld munged; do
    pid=$(started_pid "$dir" "$name") && pids+=("$pid")
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null
  for _ in $(seq $((STOP_TIMEOUT_S * 10))); do
    kill -0 "${pids[@]}" 2>/dev/null || return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    kill -KILL -- "-$pid" 2>/dev/null
  done
}

[ $# -eq 2 ] || die "usage: slurm_cluster.sh start|stop DIR"
case "$1" in
  start) start "$2" ;;
  stop) stop "$2" ;;
  *) die "usage: slurm_cluster.sh start|stop DIR" ;;
esac
