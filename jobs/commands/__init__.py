"""The ``ray101`` verbs, one module each: ``cluster``, ``submit``,
``serve``, ``wait`` and ``bucket``.

``jobs.cli`` names the verbs and imports a verb's module only when it is used;
each module adds its flags (``add_arguments``) and runs the verb.
"""
