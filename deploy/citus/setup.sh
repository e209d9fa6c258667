#!/bin/bash
# The citus profile's one-shot setup (docker-compose.yml, service citus-setup): PostGIS on every
# node, the coordinator's own address, the two workers registered. The jurisgrid schema is then
# applied on the coordinator (`jurisgrid db upgrade` with JURISGRID_DATABASE_URL pointing at
# localhost:5433) and distributed with distribute.sql — which needs the schema changes listed
# in docs/design.md "Scale" (a county code on every large table, in its unique keys).
set -euo pipefail
psql_on() { psql -v ON_ERROR_STOP=1 -h "$1" -U jurisgrid -d jurisgrid -c "$2"; }
for node in citus-coordinator citus-worker-1 citus-worker-2; do
  psql_on "$node" "CREATE EXTENSION IF NOT EXISTS citus; CREATE EXTENSION IF NOT EXISTS postgis;"
done
psql_on citus-coordinator "SELECT citus_set_coordinator_host('citus-coordinator', 5432);"
for worker in citus-worker-1 citus-worker-2; do
  psql_on citus-coordinator "SELECT citus_add_node('$worker', 5432) WHERE NOT EXISTS (SELECT 1 FROM pg_dist_node WHERE nodename = '$worker');"
done
psql_on citus-coordinator "SELECT nodename, nodeport, noderole FROM pg_dist_node;"
