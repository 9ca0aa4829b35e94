#!/bin/bash
# A throw-away PuppetDB 7 (Debian's `puppetdb` package) on its own PostgreSQL 15 cluster, both on
# 127.0.0.1 at free ports, no systemd: the real PuppetDB the node-set tests query (tests/nodesets).
#
#   usage: puppetdb-sandbox.sh WORKDIR          start both; they keep running, their state is in WORKDIR:
#                                               pg.port, pg.pid, pdb.port, pdb.pid, pg/ (cluster), pdb/ (config, logs)
#          puppetdb-sandbox.sh --stop WORKDIR   stop both (PuppetDB by PID, PostgreSQL with pg_ctl)
#
# Runs as root (PostgreSQL runs as the `postgres` user, so WORKDIR and its parents must be world-executable).
# Installs puppetdb, postgresql and curl with apt-get when they are missing (~150 packages, ~30 s).
# PDB_AOT_CLASSES=DIR puts ahead-of-time compiled classes (tests/nodesets/puppetdb-aot.sh) before the jar:
# PuppetDB then starts in ~23 s instead of ~45 s on two cores. PDB_JAVA_OPTS adds JVM flags.
# Memory: -Xmx192m, the serial GC and a 5-connection pool keep PuppetDB near 380 MiB and PostgreSQL near 64 MiB.
set -euo pipefail
PGBIN=/usr/lib/postgresql/15/bin

stop() {
  local w=$1
  if [ -f "$w/pdb.pid" ]; then
    local pid
    pid=$(cat "$w/pdb.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  if [ -f "$w/pg/data/postmaster.pid" ]; then
    su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D '$w/pg/data' -m fast stop" >/dev/null || true
  fi
}

if [ "${1:-}" = --stop ]; then
  stop "${2:?usage: puppetdb-sandbox.sh --stop WORKDIR}"
  exit 0
fi
W=${1:?usage: puppetdb-sandbox.sh WORKDIR | --stop WORKDIR}
mkdir -p "$W"
W=$(cd "$W" && pwd)
chmod a+rx "$W"
t0=$(date +%s.%N)
elapsed() { python3 -c "import time; print(f'{time.time() - $t0:.1f} s')"; }
freeport() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Anything that fails from here on stops what was already started.
trap 'stop "$W"' ERR

# 1. Packages. dbconfig-common is preseeded not to look for a database during the install.
if ! dpkg -s puppetdb >/dev/null 2>&1 || ! [ -x $PGBIN/postgres ] || ! command -v curl >/dev/null; then
  apt-get update -qq
  echo "puppetdb puppetdb/dbconfig-install boolean false" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql puppetdb curl >/dev/null
  echo "installed puppetdb and postgresql: $(elapsed)"
fi

# 2. A private PostgreSQL cluster (initdb refuses to run as root); PuppetDB needs pg_trgm, which postgresql-15 ships.
if ! su postgres -s /bin/sh -c "test -x '$W'"; then
  echo "the postgres user cannot reach $W (a parent directory is not world-executable): pick another WORKDIR" >&2
  exit 1
fi
PGPORT=$(freeport)
echo "$PGPORT" >"$W/pg.port"
install -d -o postgres -g postgres "$W/pg" "$W/pg/sock"
su postgres -s /bin/sh -c "$PGBIN/initdb -D '$W/pg/data' -A trust -U postgres -E UTF8 --locale=C.UTF-8" >"$W/pg/initdb.log"
su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D '$W/pg/data' -l '$W/pg/pg.log' -w \
  -o '-p $PGPORT -k $W/pg/sock -c listen_addresses=127.0.0.1' start" >/dev/null
head -1 "$W/pg/data/postmaster.pid" >"$W/pg.pid"
psql=(psql -qX -h 127.0.0.1 -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1)
"${psql[@]}" -c "CREATE ROLE puppetdb LOGIN PASSWORD 'puppetdb'" -c "CREATE DATABASE puppetdb OWNER puppetdb"
"${psql[@]}" -d puppetdb -c "CREATE EXTENSION pg_trgm"
echo "postgresql on 127.0.0.1:$PGPORT: $(elapsed)"

# 3. PuppetDB's own conf.d (plain HTTP on 127.0.0.1 only); bootstrap.cfg and auth.conf come from the package.
PDBPORT=$(freeport)
echo "$PDBPORT" >"$W/pdb.port"
mkdir -p "$W/pdb/conf.d" "$W/pdb/var"
cp /etc/puppetdb/conf.d/auth.conf "$W/pdb/conf.d/"
cat >"$W/pdb/logback.xml" <<'EOF'
<configuration>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{HH:mm:ss.SSS} %-5p [%c{2}] %m%n</pattern></encoder>
  </appender>
  <logger name="puppetlabs.trapperkeeper.services.status.status-debug-logging" level="warn"/>
  <root level="info"><appender-ref ref="STDOUT"/></root>
</configuration>
EOF
cat >"$W/pdb/conf.d/config.ini" <<EOF
[global]
vardir = $W/pdb/var
logging-config = $W/pdb/logback.xml
[command-processing]
EOF
cat >"$W/pdb/conf.d/database.ini" <<EOF
[database]
subname = //127.0.0.1:$PGPORT/puppetdb
username = puppetdb
password = puppetdb
maximum-pool-size = 5
EOF
cat >"$W/pdb/conf.d/jetty.ini" <<EOF
[jetty]
host = 127.0.0.1
port = $PDBPORT
EOF

# 4. PuppetDB: the java command line of the package's systemd unit, with a smaller heap.
# shellcheck disable=SC2086  # PDB_JAVA_OPTS is a list of flags
java -Xmx192m -XX:+UseSerialGC ${PDB_JAVA_OPTS:-} -Djava.security.egd=/dev/urandom \
  -cp "${PDB_AOT_CLASSES:+$PDB_AOT_CLASSES:}/usr/share/puppetdb/puppetdb.jar" clojure.main \
  -m puppetlabs.puppetdb.core services --config "$W/pdb/conf.d" --bootstrap-config /etc/puppetdb/bootstrap.cfg \
  >"$W/pdb/puppetdb.log" 2>&1 &
echo $! >"$W/pdb.pid"
status=http://127.0.0.1:$PDBPORT/status/v1/services/puppetdb-status
state=
for _ in $(seq 1 480); do
  state=$(curl -s "$status" 2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)["state"])' 2>/dev/null || true)
  [ "$state" = running ] && break
  if ! kill -0 "$(cat "$W/pdb.pid")" 2>/dev/null; then
    tail -30 "$W/pdb/puppetdb.log" >&2
    echo "puppetdb exited while starting (log: $W/pdb/puppetdb.log)" >&2
    false
  fi
  sleep 0.5
done
if [ "$state" != running ]; then
  tail -30 "$W/pdb/puppetdb.log" >&2
  echo "puppetdb did not reach state running within 240 s (last state: ${state:-none})" >&2
  false
fi
echo "puppetdb on http://127.0.0.1:$PDBPORT: $(elapsed)"
