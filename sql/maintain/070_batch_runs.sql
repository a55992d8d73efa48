-- step: the batch's runs, the batch's scans added to the derived rows of those runs
--
-- context_runs holds the derived rows of the batch's runs, less any scans being recomputed.
create or replace temp table batch_derived_runs as

with

scans as (

    select * from batch_derived_scans

),

known_runs as (

    select * from context_runs

),

batch as (

    select
        run_id,
        min(scanned_at) as started_at,
        max(finished_at) as finished_at,
        count(*) as count_participants,
        count(*) filter (where is_ok) as count_participants_ok,
        count(*) filter (where not is_ok) as count_participants_failed,
        coalesce(sum(replica_count) filter (where is_ok), 0)::bigint as count_replicas,
        coalesce(sum(pages), 0)::bigint as count_pages

    from scans
    group by run_id

),

final as (

    select
        batch.run_id,
        least(batch.started_at, known_runs.started_at) as started_at,
        greatest(batch.finished_at, known_runs.finished_at) as finished_at,
        batch.count_participants + coalesce(known_runs.count_participants, 0)
            as count_participants,
        batch.count_participants_ok + coalesce(known_runs.count_participants_ok, 0)
            as count_participants_ok,
        batch.count_participants_failed + coalesce(known_runs.count_participants_failed, 0)
            as count_participants_failed,
        batch.count_replicas + coalesce(known_runs.count_replicas, 0) as count_replicas,
        batch.count_pages + coalesce(known_runs.count_pages, 0) as count_pages

    from batch
    left join known_runs
        on batch.run_id = known_runs.run_id

)

select * from final;
