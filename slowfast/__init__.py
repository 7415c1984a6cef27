"""SlowFast video recognition: Kinetics classification and AVA action detection.

Layers, bottom to top. A package imports only from packages listed before it (a lower floor, or
earlier on its own floor), never from one after it; tools/ (thin command lines) stands above all.
tests/test_architecture.py reads this table and fails on an import that runs back up or on a circle.

    floor 1  config utils                  config keys and loading; small helpers (io, logging, distributed,
                                           meters, progress, pixels, complexity)
    floor 2  formats checkpoint models deploy solver
                                           on-disk formats (AVA CSVs / label maps / frame lists, Kinetics
                                           CSVs, box IoU); checkpoint store; networks; deployment (precision,
                                           export, ONNX runtimes); optimizer + schedules
    floor 3  evaluation datasets           metrics and AVA mAP; decoding, sampling, transforms, datasets
    floor 4  visualization                 TensorBoard, figures, demo videos (the loops draw, so below them)
    floor 5  engine                        tasks, training and test loops, classification and AVA inference, launch
    floor 6  data_prep reports apps        data preparation and checks; benchmarks and reports;
                                           run_net, demo, feature extraction
"""
