"""On-disk formats that both the datasets and the evaluation read (floor 2): AVA box / detection /
exclusion CSVs, label maps and frame lists, Kinetics-format video lists, box IoU, and the
:class:`~slowfast.formats.problems.Problem` records their readers report. Nothing here imports
above slowfast.config / slowfast.utils."""
