#!/usr/bin/env bash
# Several inventory hosts on this machine (ansible_connection: local), driven by the collection's
# playbooks by FQCN, as a multi-machine network would be:
#  1. three emulator hosts with their own names and /debug/vars ports on one nats-server;
#  2. a two-node NATS cluster (routes) with the emulators split across both brokers, where a
#     client on either broker sees every node.
set -eux -o pipefail

VENV=$(sed -n 's/^choria_test_venv: *//p' ../../integration_config.yml)
WORK=$(mktemp -d /tmp/choria-multi-host-XXXXXX)
cleanup() {
    for inventory in "$WORK"/*.yml; do
        ansible-playbook -i "$inventory" chorialab.choria.stop_emulator -e "run_dir=$WORK" || true
        ansible-playbook -i "$inventory" chorialab.choria.stop_nats -e "run_dir=$WORK" || true
    done
    # processes_with.py: 0 = some left, 1 = none; anything else means the check itself broke
    rc=0; python3 ../setup_choria/files/processes_with.py "$WORK" || rc=$?
    if [ "$rc" -eq 0 ]; then echo "processes left running"; exit 1; fi
    if [ "$rc" -ne 1 ]; then echo "leftover-process check failed to run (rc $rc)"; exit 1; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

python3 make_inventories.py "$WORK"
common=(-e "venv=$VENV" -e "run_dir=$WORK")

# 1. one broker, three emulator hosts; servers default to the `nats` group's broker
ansible-playbook -i "$WORK/one_broker.yml" chorialab.choria.start_nats "${common[@]}"
ansible-playbook -i "$WORK/one_broker.yml" chorialab.choria.start_emulator -e instances=40 "${common[@]}" | tee "$WORK/start.log"
grep -F '"msg": "3 hosts x 40 instances = 120 nodes on 1 broker"' "$WORK/start.log"
"$VENV/bin/choria-emulator" ping --server "$(cat "$WORK/one_broker.url")" --expect 120 --quiet --timeout 10 | grep -F "120 replies"
"$VENV/bin/choria-emulator" discover --server "$(cat "$WORK/one_broker.url")" -I '/^emu2-/' --timeout 3 | grep -c '^emu2-' | grep -x 40
ansible-playbook -i "$WORK/one_broker.yml" chorialab.choria.stop_emulator "${common[@]}"
ansible-playbook -i "$WORK/one_broker.yml" chorialab.choria.stop_nats "${common[@]}"

# 2. a two-node cluster; e1 uses n1, e2 uses n2
ansible-playbook -i "$WORK/cluster.yml" chorialab.choria.start_nats "${common[@]}"
python3 make_inventories.py --wait-for-routes "$WORK/cluster.monitors"
ansible-playbook -i "$WORK/cluster.yml" chorialab.choria.start_emulator -e instances=30 "${common[@]}" | tee "$WORK/cluster.log"
grep -F '"msg": "2 hosts x 30 instances = 60 nodes on 2 brokers"' "$WORK/cluster.log"
for url in $(cat "$WORK/cluster.urls"); do
    "$VENV/bin/choria-emulator" ping --server "$url" --expect 60 --quiet --timeout 10 | grep -F "60 replies"
done
ansible-playbook -i "$WORK/cluster.yml" chorialab.choria.stop_emulator "${common[@]}"
ansible-playbook -i "$WORK/cluster.yml" chorialab.choria.stop_nats "${common[@]}"
