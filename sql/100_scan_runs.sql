-- grain: one row per run (run_id)
--
-- A run scans each configured participant once. count_replicas adds up the replicas that
-- the run's successful scans reported; count_pages, the API pages all its scans read.
create or replace view scan_runs as

with

all_scans as (

    select * from scans

),

final as (

    select
        run_id,
        min(scanned_at) as started_at,
        max(finished_at) as finished_at,
        count(*) as count_participants,
        count(*) filter (where is_ok) as count_participants_ok,
        count(*) filter (where not is_ok) as count_participants_failed,
        coalesce(sum(replica_count) filter (where is_ok), 0)::bigint as count_replicas,
        coalesce(sum(pages), 0)::bigint as count_pages

    from all_scans
    group by run_id

)

select * from final;
