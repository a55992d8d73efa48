-- overview: the latest run (the one that started last) wholly within report's --since/--until
-- window, for the queries after this one
--
-- report_since and report_until are set by `report` (-infinity / infinity when open).

set variable latest_run_id = (
    select max_by(scan_runs.run_id, scan_runs.started_at)
    from scan_runs
    where
        scan_runs.started_at >= getvariable('report_since')
        and coalesce(scan_runs.finished_at, scan_runs.started_at) < getvariable('report_until')
);
