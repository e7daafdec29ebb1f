"""The ``ray101`` verbs, one module each: ``run``, ``cluster``, ``submit``,
``serve``, ``data``, ``wait`` and ``bucket``; ``loadtest`` is a package (the
load generators, the measurement, the report and the goals).

``jobs.cli`` names the verbs and imports a verb's module only when it is used;
each module adds its flags (``add_arguments``) and runs the verb.
"""
