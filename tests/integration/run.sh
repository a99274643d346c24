#!/usr/bin/env bash
# Runs the integration targets the way ansible-test does, but with the managed
# host's /usr/bin/python3, the only interpreter here that has lxc and btrfsutil.
#
#   tests/integration/run.sh [target ...]
#
# With no arguments it runs every target under tests/integration/targets whose
# name does not start with setup_ and whose aliases file does not say hidden.
# Each target is a role, played against localhost from a generated playbook.
# The modules come from the copy of the collection that `make collection`
# keeps at $BUILD/ansible_collections/dockerlite/core.
#
# Environment: BUILD and VENV (defaults: .build and .venv in the repository);
# DLT_JOBS (default 1): how many runs go side by side (see below);
# ANSIBLE_VERBOSITY and ANSIBLE_DIFF_ALWAYS are passed on to ansible-playbook.
#
# Each target gets its own directory, exported as DLT_TEST_TMPDIR; the
# setup_btrfs_store role makes its temporary directory there. Targets clean up
# after themselves; whatever they leave under that directory (running LXC
# containers, mounts, loop devices) is removed here and fails the target.
set -euo pipefail

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
targets_dir=$repo/tests/integration/targets
build=${BUILD:-$repo/.build}
venv=${VENV:-$repo/.venv}
collection=$build/ansible_collections/dockerlite/core

die() {
    echo "run.sh: $*" >&2
    exit 2
}

[[ -d $collection ]] || die "no collection copy at $collection; run 'make collection' first"
if [[ -x $venv/bin/ansible-playbook ]]; then
    PATH=$venv/bin:$PATH
fi
command -v ansible-playbook >/dev/null || die "ansible-playbook not found; run 'make venv' first"
[[ $(id -u) == 0 ]] || die "the targets need root (loop devices, mounts, LXC)"

is_hidden() {
    [[ -f $targets_dir/$1/aliases ]] && grep -qx 'hidden' "$targets_dir/$1/aliases"
}

targets=()
if (($#)); then
    for target in "$@"; do
        [[ -d $targets_dir/$target/tasks ]] || die "no such target: $target"
        targets+=("$target")
    done
else
    while IFS= read -r target; do
        [[ $target == setup_* ]] && continue
        is_hidden "$target" && continue
        targets+=("$target")
    done < <(find "$targets_dir" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | LC_ALL=C sort)
fi

# With DLT_JOBS=N (N > 1), the targets are shared out among N runs of this script
# that go side by side, each with its own directory and its own log, printed whole
# when all are done. Targets are independent (each its own loopback store, random
# bridge names), except that network and role_network both pick free 10.213.x
# subnets from the host's routes, so they go to the same run, and so do fleet_small and
# playbook_fleet: both start sshds, which need the machine's one privilege separation
# directory, /run/sshd, and each removes it at the end if it made it. Shares are balanced
# by the targets' usual durations (seconds; 45 for one not listed).
declare -A WEIGHT=(
    [connection_dockerlite]=40 [disk_quota]=42 [dockerlite_commit]=37 [dockerlite_container]=127
    [dockerlite_container_info]=35 [dockerlite_exec]=37 [dockerlite_image]=68 [dockerlite_image_info]=23
    [dockerlite_stack]=47 [inventory_dockerlite]=27 [lifecycle]=38 [lxc_monitor_death]=24 [network]=130
    [fleet_small]=240 [oci_interop]=150 [oci_layers]=60 [playbook_fleet]=109 [role_btrfs_volume]=112 [role_network]=138
    [role_prerequisites]=44
    [security]=77 [store_permissions]=31 [store_recovery]=46
    [oci_pull]=90 [image_stream]=60
)
jobs=${DLT_JOBS:-1}
if ((jobs > 1 && ${#targets[@]} > 1)); then
    # Groups (targets that must share a run) by weight, heaviest first; each to the lightest run.
    groups=()
    together=""
    sshd_together=""
    for target in "${targets[@]}"; do
        if [[ $target == network || $target == role_network ]]; then
            together+="$target "
        elif [[ $target == fleet_small || $target == playbook_fleet ]]; then
            sshd_together+="$target "
        else
            groups+=("$target")
        fi
    done
    [[ -n $together ]] && groups+=("${together% }")
    [[ -n $sshd_together ]] && groups+=("${sshd_together% }")
    sorted=()
    while IFS=$'\t' read -r _ group; do
        sorted+=("$group")
    done < <(for group in "${groups[@]}"; do
                 weight=0
                 for target in $group; do weight=$((weight + ${WEIGHT[$target]:-45})); done
                 printf '%d\t%s\n' "$weight" "$group"
             done | LC_ALL=C sort -t $'\t' -k1,1nr -k2,2)
    declare -a share_targets share_weight
    for ((i = 0; i < jobs; i++)); do share_targets[i]=""; share_weight[i]=0; done
    for group in "${sorted[@]}"; do
        best=0
        for ((i = 1; i < jobs; i++)); do
            ((share_weight[i] < share_weight[best])) && best=$i
        done
        share_targets[best]+="$group "
        for target in $group; do share_weight[best]=$((share_weight[best] + ${WEIGHT[$target]:-45})); done
    done
    logs=$(mktemp -d "${TMPDIR:-/tmp}/dlt-integration-logs.XXXXXX")
    pids=()
    for ((i = 0; i < jobs; i++)); do
        [[ -n ${share_targets[i]} ]] || continue
        # shellcheck disable=SC2086 # the share is a list of target names
        DLT_JOBS=1 "${BASH_SOURCE[0]}" ${share_targets[i]} >"$logs/$i.log" 2>&1 </dev/null &
        pids+=("$!")
        echo "run $i: ${share_targets[i]}"
    done
    trap 'kill -TERM "${pids[@]}" 2>/dev/null; wait; rm -rf -- "$logs"; exit 143' INT TERM
    rc=0
    for pid in "${pids[@]}"; do
        wait "$pid" || rc=1
    done
    for log in "$logs"/*.log; do
        echo "=============== $(basename "$log" .log)"
        cat -- "$log"
    done
    echo
    echo "Integration targets, all runs:"
    grep -h '^  \(PASS\|FAIL\) ' "$logs"/*.log | LC_ALL=C sort -k2 || true
    grep -h '^integration: ' "$logs"/*.log | awk '{p += $2; f += $4} END {printf "integration: %d passed, %d failed\n", p, f}'
    rm -rf -- "$logs"
    exit "$rc"
fi

# Lists "lxcpath<TAB>name" for the containers that run under $1: those found by
# their monitor process, whose title names both, and those that lxc-ls reports
# active in a containers directory near the top of $1.
active_containers_under() {
    local dir=$1 lxcpath
    pgrep -a -f '^\[lxc monitor\] ' 2>/dev/null |
        sed -n 's/^[0-9]* \[lxc monitor\] \(.*\) \([^ ]*\)$/\1\t\2/p' |
        awk -F '\t' -v p="$dir/" 'index($1, p) == 1' || true
    while IFS= read -r lxcpath; do
        lxc-ls --lxcpath "$lxcpath" --line --active 2>/dev/null | sed "s|^|$lxcpath\t|" || true
    done < <(find "$dir" -mindepth 1 -maxdepth 6 -type d -name containers -prune -print 2>/dev/null || true)
}

# Removes whatever is left under $1: running containers first (they keep the
# store busy), then mounts (deepest first), then loop devices whose backing
# file is there. Prints one line per thing found. Returns 0 when there was
# nothing, 1 when everything found was removed, 2 when a mount could not be
# removed (then $1 must be kept, or the loop device would lose its file).
release_under() {
    local dir=$1 found=0 stuck=0 lxcpath name target dev file try
    while IFS=$'\t' read -r lxcpath name; do
        echo "  leftover container $name in $lxcpath: killing it"
        lxc-stop --kill --lxcpath "$lxcpath" --name "$name" || true
        found=1
    done < <(active_containers_under "$dir" | LC_ALL=C sort -u)

    while IFS= read -r target; do
        echo "  leftover mount $target: unmounting it"
        found=1
        for try in 1 2 3 4 5; do
            umount -- "$target" && continue 2
            sleep "$try"
        done
        echo "  could not unmount $target; keeping $dir" >&2
        stuck=1
    done < <(findmnt --list --noheadings --output TARGET | awk -v p="$dir/" 'index($0, p) == 1' | LC_ALL=C sort -r)

    if ((stuck)); then
        return 2
    fi
    while read -r dev file; do
        echo "  leftover loop device $dev on $file: detaching it"
        losetup --detach "$dev" || true
        found=1
    done < <(losetup --list --noheadings --output NAME,BACK-FILE | awk -v p="$dir/" 'index($2, p) == 1')
    return $((found))
}

work=$(mktemp -d "${TMPDIR:-/tmp}/dlt-integration.XXXXXX")
# Unprivileged containers' root (a subordinate uid) must be able to pass through every
# directory above a store to reach a rootfs: traverse, but not list.
chmod 0711 "$work"
on_exit() {
    local rc=$? released=0
    release_under "$work" || released=$?
    if ((released == 2)); then
        rc=1
    else
        rm -rf --one-file-system -- "$work"
    fi
    exit "$rc"
}
child=
on_signal() {
    if [[ -n $child ]]; then
        kill -TERM "$child" 2>/dev/null || true
        wait "$child" || true
    fi
    exit "$1"
}
trap on_exit EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

printf 'localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n' >"$work/inventory"

export ANSIBLE_ROLES_PATH=$targets_dir
export ANSIBLE_COLLECTIONS_PATH=$build
export ANSIBLE_FORCE_COLOR=0
export ANSIBLE_NOCOLOR=1
export ANSIBLE_LOCALHOST_WARNING=0
export ANSIBLE_RETRY_FILES_ENABLED=0

if ((${#targets[@]} == 0)); then
    echo "no integration targets to run"
    exit 0
fi

passed=0
failed=0
summary=()
for target in "${targets[@]}"; do
    tdir=$work/$target
    mkdir -p "$tdir/tmp"
    chmod 0711 "$tdir" "$tdir/tmp"
    printf -- '- name: Integration target %s\n  hosts: localhost\n  gather_facts: false\n  roles:\n    - %s\n' \
        "$target" "$target" >"$tdir/playbook.yml"

    echo "=== $target"
    start=${EPOCHREALTIME//[!0-9]/}
    result=PASS
    # From the target's directory, so that no ansible.cfg elsewhere is read. In
    # the background, so that a signal to this script is handled at once (bash
    # runs traps only between foreground commands); on_signal stops it.
    (cd "$tdir" && DLT_TEST_TMPDIR=$tdir/tmp exec ansible-playbook -i "$work/inventory" playbook.yml </dev/null) &
    child=$!
    if ! wait "$child"; then
        result=FAIL
    fi
    child=
    released=0
    release_under "$tdir" || released=$?
    if ((released)); then
        echo "  $target left the resources above behind"
        result=FAIL
    fi
    if ((released == 2)); then
        # Nothing later can be trusted to clean up after itself either.
        echo "run.sh: stopping; remove what is left in $tdir by hand" >&2
        exit 1
    fi
    rm -rf --one-file-system -- "$tdir"
    elapsed=$(((${EPOCHREALTIME//[!0-9]/} - start) / 1000))
    line=$(printf '%-4s %-40s %6d.%01d s' "$result" "$target" $((elapsed / 1000)) $((elapsed % 1000 / 100)))
    echo "--- $line"
    summary+=("$line")
    if [[ $result == PASS ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
done

echo
echo "Integration targets:"
printf '  %s\n' "${summary[@]}"
echo "integration: $passed passed, $failed failed"
((failed == 0))
