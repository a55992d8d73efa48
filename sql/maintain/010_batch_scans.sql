-- step: the batch's scans, one per participant per run, linked to the successful scans around
--
-- Reads batch_scans and batch_replicas (the raw rows being derived) and
-- context_participants (each participant's derived latest successful scan, the seed the
-- batch continues from; empty on a rebuild). Copies of one scan (one participant, one run)
-- count once: a successful copy first, then the one that arrived first. A scan's replica rows
-- are those of its own load package; a successful scan is complete when all the replicas it
-- reported are visible, and only complete scans say anything about replicas. A scan arrived
-- out of order when a load package before its own held a later scan of the participant.
create or replace temp table batch_derived_scans as

with

ledger as (

    select * from batch_scans

),

replica_rows as (

    select * from batch_replicas

),

seeds as (

    select * from context_participants
    where last_ok_scanned_at is not null

),

copies as (

    select
        *,
        row_number() over (
            partition by source_stage_arn, participant_id, run_id
            order by
                status = 'ok' desc,
                coalesce(load_id, '') asc,
                scanned_at asc,
                finished_at asc
        ) as copy_number

    from ledger

),

kept as (

    select * exclude (copy_number) from copies
    where copy_number = 1

),

reported_keys as (

    select distinct
        source_stage_arn,
        participant_id,
        run_id,
        load_id,
        source_session_id,
        destination_stage_arn,
        destination_session_id

    from replica_rows

),

reported as (

    select
        source_stage_arn,
        participant_id,
        run_id,
        load_id,
        count(*) as count_replica_rows

    from reported_keys
    group by source_stage_arn, participant_id, run_id, load_id

),

counted as (

    select
        kept.*,
        coalesce(reported.count_replica_rows, 0) as count_replica_rows,
        kept.status = 'ok' as is_ok,
        kept.status = 'ok'
        and coalesce(reported.count_replica_rows, 0) >= kept.replica_count as is_complete

    from kept
    left join reported
        on
            kept.source_stage_arn = reported.source_stage_arn
            and kept.participant_id = reported.participant_id
            and kept.run_id = reported.run_id
            and kept.load_id is not distinct from reported.load_id

),

arrivals as (

    -- the latest scan of each participant in each load package, then in the packages before
    select
        source_stage_arn,
        participant_id,
        coalesce(load_id, '') as load_key,
        max(scanned_at) as latest_scanned_at

    from counted
    group by all

),

earlier_arrivals as (

    select
        *,
        max(latest_scanned_at) over (
            partition by source_stage_arn, participant_id
            order by load_key
            rows between unbounded preceding and 1 preceding
        ) as earlier_latest_scanned_at

    from arrivals

),

chain as (

    select
        source_stage_arn,
        participant_id,
        last_ok_scanned_at as scanned_at,
        last_ok_run_id as run_id,
        true as is_seed

    from seeds

    union all

    select
        source_stage_arn,
        participant_id,
        scanned_at,
        run_id,
        false as is_seed

    from counted
    where is_complete

),

linked as (

    select
        *,
        lag(scanned_at) over participant_history as previous_ok_scanned_at,
        lag(run_id) over participant_history as previous_ok_run_id,
        lead(scanned_at) over participant_history as next_ok_scanned_at,
        lead(run_id) over participant_history as next_ok_run_id

    from chain
    window participant_history as (
        partition by source_stage_arn, participant_id
        order by scanned_at, run_id
    )

),

final as (

    select
        counted.run_id,
        counted.source_stage_arn,
        counted.participant_id,
        counted.region,
        counted.account_id,
        counted.scanned_at,
        counted.finished_at,
        counted.status,
        counted.pages,
        counted.replica_count,
        counted.error_code,
        counted.error_message,
        counted.load_id,
        counted.count_replica_rows,
        counted.is_ok,
        counted.is_complete,
        coalesce(earlier_arrivals.earlier_latest_scanned_at >= counted.scanned_at, false)
            as is_out_of_order,
        linked.previous_ok_scanned_at,
        linked.previous_ok_run_id,
        linked.next_ok_scanned_at,
        linked.next_ok_run_id

    from counted
    inner join earlier_arrivals
        on
            counted.source_stage_arn = earlier_arrivals.source_stage_arn
            and counted.participant_id = earlier_arrivals.participant_id
            and coalesce(counted.load_id, '') = earlier_arrivals.load_key
    left join linked
        on
            counted.source_stage_arn = linked.source_stage_arn
            and counted.participant_id = linked.participant_id
            and counted.run_id = linked.run_id
            and not linked.is_seed

)

select * from final;
