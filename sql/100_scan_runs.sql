-- grain: one row per run (run_id)
--
-- A run scans each configured participant once. count_replicas adds up the replicas that
-- the run's successful scans reported; count_pages, the API pages all its scans read.
create or replace view scan_runs as

with

runs as (

    select * from derived_runs

),

final as (

    select
        run_id,
        started_at,
        finished_at,
        count_participants,
        count_participants_ok,
        count_participants_failed,
        count_replicas,
        count_pages

    from runs

)

select * from final;
