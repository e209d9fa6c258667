-- How the jurisgrid tables map onto Citus (docs/design.md "Scale"): run on the coordinator,
-- after `jurisgrid db upgrade`, ONCE the schema carries the changes listed there — a
-- `county_code` column on every distributed table, part of its primary and unique keys and of
-- the foreign keys between distributed tables. address_point and incident have it since
-- migration 0017 (their keys include it: they are partitioned by it); on the other tables the
-- create_distributed_table calls are still refused (unique keys without the distribution
-- column); the reference tables work.
-- tests/scale/test_topology.py keeps the table names here in step with the migrations.

SET citus.shard_count = 32;          -- a province: ~183 counties over 32 shards
SET citus.multi_shard_modify_mode = 'sequential';

-- Reference tables: small, read everywhere, written rarely (a copy on every node; a write is a
-- two-phase commit over all nodes).
SELECT create_reference_table('county');             -- outlines: a point's county, first step of a lookup
SELECT create_reference_table('incident_category');
SELECT create_reference_table('sizing_policy');
SELECT create_reference_table('sizing_settings');
SELECT create_reference_table('api_token');
SELECT create_reference_table('revision');           -- the edit log (one row per edit)
SELECT create_reference_table('scheduled_edit');
SELECT create_reference_table('plan');

-- Distributed by county code, all co-located: a county's units, points and incidents live on
-- one shard, so every county-scoped query and every edit (which never leaves its county) runs on
-- one node, joins included.
SELECT create_distributed_table('sector', 'county_code');
SELECT create_distributed_table('township', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('community', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('station', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('zone', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('grid', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('person', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('assignment', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('address_point', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('incident', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('sizing_grid_stats', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('sizing_zone_incidents', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('tile_grid_stats', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('tile_change', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('tile_zone_sizing', 'county_code', colocate_with => 'sector');
-- the history (as-of reads) beside the current rows
SELECT create_distributed_table('station_history', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('zone_history', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('grid_history', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('community_history', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('person_history', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('assignment_history', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('station_future', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('zone_future', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('grid_future', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('community_future', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('person_future', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('assignment_future', 'county_code', colocate_with => 'sector');
-- plans copy the units of their counties
SELECT create_distributed_table('plan_station', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('plan_zone', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('plan_community', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('plan_grid', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('plan_person', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('plan_assignment', 'county_code', colocate_with => 'sector');
SELECT create_distributed_table('plan_edit', 'county_code', colocate_with => 'sector');

-- Left local on the coordinator: alembic_version (migrations), data_version (the lookup
-- index's version; bumped by triggers — per county in the Citus layout, see the design
-- document), future_key, future_closed, balance_job, spatial_ref_sys (PostGIS's, on every node).
