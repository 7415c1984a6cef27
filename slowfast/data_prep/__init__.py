"""Getting data into the formats the loaders read, and checking it before a run trips on it.

* :mod:`.kinetics` - class-folder trees or the official annotation CSVs -> ``{train,val,test}.csv``,
  ``classnames.json``, ``bad_videos.txt``, optionally re-encoded copies at a given short side.
* :mod:`.ava` - videos -> 30 fps JPEG frame folders and frame lists over a second window.
* :mod:`.proposals` - person proposals for frames that have none (torchvision detector).
* :mod:`.check` - every problem a run would trip on, each with file and line; the cheap subset runs
  before the first iteration of ``tools/run_net.py``.
* :mod:`.video_io` - probing, re-encoding, and a parallel map with progress and ETA.
"""
