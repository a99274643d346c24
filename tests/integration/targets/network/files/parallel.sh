#!/usr/bin/env bash
# Starts COUNT ansible-playbook runs of parallel_create.yml at the same moment,
# each creating container PREFIX<i> on the same store and bridge, and waits for
# all of them. Prints one line per run ("<i> rc=<rc> start=<ns> end=<ns>") and
# the output of failed runs; exits 1 if any run failed.
#
#   parallel.sh COUNT PREFIX ROOT IMAGE BRIDGE WORKDIR
set -u
count=$1 prefix=$2 root=$3 image=$4 bridge=$5 work=$6
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$work"
cd "$work" || exit 2
printf 'localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n' >inventory

# Every run waits for the go file, so that all start their module together
# rather than one playbook start-up (about a second) apart.
pids=()
for i in $(seq 1 "$count"); do
    (
        while [[ ! -e go ]]; do sleep 0.01; done
        start=$(date +%s%N)
        ansible-playbook -i inventory "$here/parallel_create.yml" \
            -e "par_root=$root" -e "par_name=$prefix$i" -e "par_image=$image" -e "par_bridge=$bridge" \
            >"run$i.log" 2>&1
        rc=$?
        echo "$i rc=$rc start=$start end=$(date +%s%N)" >"run$i.rc"
        exit "$rc"
    ) &
    pids+=($!)
done
touch go
failed=0
for pid in "${pids[@]}"; do
    wait "$pid" || failed=1
done
cat run*.rc
if ((failed)); then
    for i in $(seq 1 "$count"); do
        grep -q 'rc=0 ' "run$i.rc" || { echo "--- run $i"; cat "run$i.log"; }
    done
fi
exit "$failed"
