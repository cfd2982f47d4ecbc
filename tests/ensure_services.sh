#!/usr/bin/env bash
# Brings up the PostgreSQL and Redis that the test suite talks to, when they are not already answering.
# Installs them from Debian's packages on a machine that lacks them (needs root, as on CI).
set -euo pipefail
PGHOST=${ISOGOV_TEST_PG_HOST:-127.0.0.1}
PGPORT=${ISOGOV_TEST_PG_PORT:-5432}
REDIS_PORT=${ISOGOV_TEST_REDIS_PORT:-6379}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
apt_install() {
  [ $apt_updated = 1 ] || { as_root apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

pg_up() { pg_isready -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null; }
if ! command -v pg_isready >/dev/null || ! pg_up; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "ensure_services: installing PostgreSQL"
    apt_install postgresql
  fi
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  conf=/etc/postgresql/$version/main/pg_hba.conf
  # The suite connects as user postgres over loopback without a password (as on the CI machines).
  if ! grep -qE '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$conf"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$conf"
  fi
  echo "ensure_services: starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || as_root pg_ctlcluster "$version" main start
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  pg_up || { echo "ensure_services: PostgreSQL did not come up on $PGHOST:$PGPORT" >&2; exit 1; }
fi

redis_up() { (exec 3<>/dev/tcp/127.0.0.1/"$REDIS_PORT") 2>/dev/null; }
if ! redis_up; then
  command -v redis-server >/dev/null || { echo "ensure_services: installing Redis"; apt_install redis-server; }
  echo "ensure_services: starting Redis on 127.0.0.1:$REDIS_PORT"
  mkdir -p /tmp/isogov-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /tmp/isogov-redis --logfile /tmp/isogov-redis/redis.log
  for _ in $(seq 1 30); do redis_up && break; sleep 0.5; done
  redis_up || { echo "ensure_services: Redis did not come up on port $REDIS_PORT" >&2; exit 1; }
fi
echo "ensure_services: PostgreSQL and Redis are up"
