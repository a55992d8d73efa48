-- overview: the latest run (the one that started last), for the queries after this one

set variable latest_run_id = (
    select max_by(scan_runs.run_id, scan_runs.started_at) from scan_runs
);
