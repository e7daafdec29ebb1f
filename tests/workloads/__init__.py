"""The workloads users run (jobs/retrieve.py, jobs/echo/, jobs/tune/, …) on a real local Ray."""
