"""Every configuration key, its default and what it means.

This file is the public API of the configuration: a YAML file may only set keys declared here
(`slowfast.config.loader` rejects anything else, with a "did you mean" hint). Group and key names
follow PySlowFast so that its YAML files keep working. Each key has a one-line comment.

Learning rates follow the linear scaling rule (Goyal et al.): SOLVER.BASE_LR is the rate for the
total batch TRAIN.BATCH_SIZE given in the YAML; when you change the total batch by a factor k,
multiply SOLVER.BASE_LR (and SOLVER.WARMUP_START_LR) by k. The report uses 0.8 for a total batch of
1024 clips on Kinetics-600 (i.e. 0.1 per 128 clips).
"""
from fvcore.common.config import CfgNode

_C = CfgNode()

# ---------------------------------------------------------------------------------------------
# Batch norm
# ---------------------------------------------------------------------------------------------
_C.BN = CfgNode()
# Recompute BN statistics with precise BN (fvcore) before each validation and at the end of training.
_C.BN.USE_PRECISE_STATS = False
# Number of training batches used to compute precise BN statistics.
_C.BN.NUM_BATCHES_PRECISE = 200
# Weight decay applied to BN scale and shift parameters (0.0 = no decay on BN, the usual choice).
_C.BN.WEIGHT_DECAY = 0.0
# Normalization: "batchnorm", "sub_batchnorm" (statistics over BN.NUM_SPLITS sub-batches) or "sync_batchnorm".
_C.BN.NORM_TYPE = "batchnorm"
# For sub_batchnorm: number of sub-batches each process batch is split into (e.g. 8 clips per split).
_C.BN.NUM_SPLITS = 1
# For sync_batchnorm: processes per synchronisation group (consecutive ranks); 0 = all processes.
_C.BN.NUM_SYNC_DEVICES = 1
# BN momentum for running statistics (PyTorch convention: weight of the new batch).
_C.BN.MOMENTUM = 0.1
# BN epsilon.
_C.BN.EPSILON = 1e-5
# Freeze all BN layers (eval-mode statistics, no affine updates); used for fine-tuning and tests.
_C.BN.FREEZE = False

# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------
_C.TRAIN = CfgNode()
# Run the training loop.
_C.TRAIN.ENABLE = True
# Dataset name in the dataset registry ("kinetics", "ava", "charades": PySlowFast frame lists, DATA.MULTI_LABEL).
_C.TRAIN.DATASET = "kinetics"
# Total mini-batch size over all processes and machines (clips for Kinetics, key frames for AVA).
_C.TRAIN.BATCH_SIZE = 64
# Validate every this many epochs (0 = never).
_C.TRAIN.EVAL_PERIOD = 10
# Save a checkpoint every this many epochs.
_C.TRAIN.CHECKPOINT_PERIOD = 10
# Keep only the last this many checkpoints in OUTPUT_DIR/checkpoints (0 = keep all); only ones this run wrote are deleted.
_C.TRAIN.CHECKPOINT_KEEP = 0
# Also save a checkpoint every this many iterations inside an epoch, for an exact mid-epoch resume (0 = off; a multiple of GRAD_ACCUM_STEPS).
_C.TRAIN.CHECKPOINT_ITER_PERIOD = 0
# Resume from the latest checkpoint in OUTPUT_DIR/checkpoints if one exists.
_C.TRAIN.AUTO_RESUME = True
# Checkpoint to initialise from (e.g. a Kinetics model for AVA fine-tuning); "" = none.
_C.TRAIN.CHECKPOINT_FILE_PATH = ""
# Format of TRAIN.CHECKPOINT_FILE_PATH: "pytorch" (.pyth) or "caffe2" (.pkl).
_C.TRAIN.CHECKPOINT_TYPE = "pytorch"
# Inflate 2D ImageNet ResNet weights to 3D kernels when loading TRAIN.CHECKPOINT_FILE_PATH.
_C.TRAIN.CHECKPOINT_INFLATE = False
# Start from epoch 0 after loading TRAIN.CHECKPOINT_FILE_PATH (ignore its epoch and optimizer state).
_C.TRAIN.CHECKPOINT_EPOCH_RESET = False
# Allow loading a checkpoint whose keys do not fully match the model (fine-tuning drops the head).
_C.TRAIN.CHECKPOINT_PARTIAL_LOAD = False
# Fully unpickle TRAIN/TEST.CHECKPOINT_FILE_PATH files the restricted readers refuse (can run code in them; see SECURITY.md).
_C.TRAIN.CHECKPOINT_ALLOW_UNSAFE_PICKLE = False
# Load a checkpoint whose stored config differs on an architecture key (e.g. SLOWFAST.ALPHA) with a warning, not an error.
_C.TRAIN.CHECKPOINT_IGNORE_CFG_MISMATCH = False
# Mixed precision: on CUDA bfloat16 autocast where the GPU supports it, else float16 + GradScaler; on CPUs with AVX512-BF16/AMX bfloat16.
_C.TRAIN.MIXED_PRECISION = False
# Gradient accumulation: k >= 1 loader batches (micro-batches), each loss scaled by 1/k, then one optimizer step (BN sees micro-batches).
_C.TRAIN.GRAD_ACCUM_STEPS = 1

# ---------------------------------------------------------------------------------------------
# Testing
# ---------------------------------------------------------------------------------------------
_C.TEST = CfgNode()
# Run the test loop (after training, or alone with TRAIN.ENABLE False).
_C.TEST.ENABLE = True
# Dataset name in the dataset registry.
_C.TEST.DATASET = "kinetics"
# Total test mini-batch size over all processes.
_C.TEST.BATCH_SIZE = 8
# Checkpoint to test; "" = the latest checkpoint in OUTPUT_DIR, or the weights just trained.
_C.TEST.CHECKPOINT_FILE_PATH = ""
# Format of TEST.CHECKPOINT_FILE_PATH: "pytorch" or "caffe2".
_C.TEST.CHECKPOINT_TYPE = "pytorch"
# Number of uniformly spaced temporal clips per video (the report uses 10).
_C.TEST.NUM_ENSEMBLE_VIEWS = 10
# Number of spatial crops per clip (3 crops covering the long side, or 1 centre crop).
_C.TEST.NUM_SPATIAL_CROPS = 3
# File name (inside OUTPUT_DIR) for saved per-video scores / predictions; "" = the default name.
_C.TEST.SAVE_RESULTS_PATH = ""
# Test with slowfast.models.optimize_for_inference (BN folded into convs, channels_last_3d); same scores.
_C.TEST.OPTIMIZE_MODEL = True
# Video resamples for the 95% bootstrap intervals in results.json (top1_ci, top5_ci, mAP_ci); 0 = no intervals.
_C.TEST.BOOTSTRAP_SAMPLES = 1000
# Seed of those resamples (fixed, so intervals are reproducible and two runs' resamples are the same videos).
_C.TEST.BOOTSTRAP_SEED = 0
# Inference precision of the test loops, demo, feature extraction, benchmarks: fp32 | bf16 (CUDA, CPUs with AVX512-BF16/AMX) | fp16 (CUDA).
_C.TEST.PRECISION = "fp32"
# What runs the test loops, demo and feature extraction: torch | onnxruntime | openvino (an ONNX export; pip install -e .[deploy]).
_C.TEST.RUNTIME = "torch"

# ---------------------------------------------------------------------------------------------
# ResNet backbone
# ---------------------------------------------------------------------------------------------
_C.RESNET = CfgNode()
# Residual transformation: "bottleneck_transform" (1x1, 3x3, 1x1) or "basic_transform" (3x3, 3x3).
_C.RESNET.TRANS_FUNC = "bottleneck_transform"
# Number of groups in the 3x3 convolution (1 = ResNet, >1 = ResNeXt).
_C.RESNET.NUM_GROUPS = 1
# Width of each group (64 -> res2 bottleneck width 64).
_C.RESNET.WIDTH_PER_GROUP = 64
# Use in-place ReLU.
_C.RESNET.INPLACE_RELU = True
# Put the spatial stride on the first 1x1 conv (True) instead of the 3x3 conv (False, PySlowFast default).
_C.RESNET.STRIDE_1X1 = False
# Zero-initialise the last BN of each residual block (and of each non-local block).
_C.RESNET.ZERO_INIT_FINAL_BN = False
# Network depth: 18, 50 or 101 (stage depths 2-2-2-2, 3-4-6-3, 3-4-23-3); 0 = use RESNET.STAGE_DEPTHS.
_C.RESNET.DEPTH = 50
# Explicit number of blocks in res2..res5 when RESNET.DEPTH is 0 (tiny test models).
_C.RESNET.STAGE_DEPTHS = [3, 4, 6, 3]
# Per stage (res2..res5) and pathway: how many leading blocks use the stage's temporal kernel (rest use 1).
_C.RESNET.NUM_BLOCK_TEMP_KERNEL = [[3, 3], [4, 4], [6, 6], [3, 3]]
# Spatial stride of res2..res5 per pathway.
_C.RESNET.SPATIAL_STRIDES = [[1, 1], [2, 2], [2, 2], [2, 2]]
# Spatial dilation of res2..res5 per pathway (res5 dilation 2 with stride 1 for AVA detection).
_C.RESNET.SPATIAL_DILATIONS = [[1, 1], [1, 1], [1, 1], [1, 1]]

# ---------------------------------------------------------------------------------------------
# Non-local blocks
# ---------------------------------------------------------------------------------------------
_C.NONLOCAL = CfgNode()
# Per stage (res2..res5) and pathway: indices of the blocks followed by a non-local block.
_C.NONLOCAL.LOCATION = [[[], []], [[], []], [[], []], [[], []]]
# Per stage and pathway: number of groups the batch is split into along time for non-local (1 = none).
_C.NONLOCAL.GROUP = [[1, 1], [1, 1], [1, 1], [1, 1]]
# Affinity normalisation: "dot_product" (divide by N) or "softmax" (embedded Gaussian).
_C.NONLOCAL.INSTANTIATION = "dot_product"
# Per stage and pathway: max-pool kernel [T, H, W] applied to keys and values ([1, 1, 1] = none).
_C.NONLOCAL.POOL = [[[1, 2, 2], [1, 2, 2]]] * 4

# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------
_C.MODEL = CfgNode()
# Temporal-kernel layout of the backbone: "slowfast", "slow", "fast", "c2d", "i3d".
_C.MODEL.ARCH = "slowfast"
# Model class in the model registry: "SlowFast" (two pathways) or "ResNet" (one pathway).
_C.MODEL.MODEL_NAME = "SlowFast"
# Number of output classes (400/600/700 for Kinetics, 80 for AVA); 0 = from the dataset's classnames.json / label map.
_C.MODEL.NUM_CLASSES = 400
# Loss: "cross_entropy" (classification), "bce" (multi-label: detection, DATA.MULTI_LABEL) or "soft_cross_entropy" (mixup).
_C.MODEL.LOSS_FUNC = "cross_entropy"
# Dropout rate before the classifier.
_C.MODEL.DROPOUT_RATE = 0.5
# Activation applied to the head output at test time: "softmax", "sigmoid" or "none".
_C.MODEL.HEAD_ACT = "softmax"
# Std of the normal init of the classifier weights.
_C.MODEL.FC_INIT_STD = 0.01
# Channels of the first convolution's output (the stem width), as in ResNet.
_C.MODEL.STEM_DIM = 64
# Head pooling: "train_crop" (PySlowFast: fixed kernel of the training-crop feature map, grid scores averaged) or "global".
_C.MODEL.HEAD_POOLING = "train_crop"
# Memory format of 5-D weights: "auto" (channels_last_3d on CPU and CUDA), "channels_last_3d", "contiguous".
_C.MODEL.MEMORY_FORMAT = "auto"
# Train through torch.compile(model) (slow first iterations; checkpoints keep the plain key names).
_C.MODEL.COMPILE = False
# Fine-tuning: freeze the stem and the first N-1 residual stages (0 = none, 1 = s1, 2 = s1+s2, ..., 5 = whole backbone); frozen BNs stay in eval mode.
_C.MODEL.FROZEN_STAGES = 0
# Linear probe (PySlowFast): features detached before the head, so only the head trains (BN statistics still update unless frozen).
_C.MODEL.DETACH_FINAL_FC = False
# Activation checkpointing (PySlowFast): recompute each backbone stage in the backward pass instead of storing its activations.
_C.MODEL.ACT_CHECKPOINT = False

# ---------------------------------------------------------------------------------------------
# SlowFast
# ---------------------------------------------------------------------------------------------
_C.SLOWFAST = CfgNode()
# Inverse channel ratio 1/beta: the Fast pathway has 1/BETA_INV of the Slow pathway's channels.
_C.SLOWFAST.BETA_INV = 8
# Frame-rate ratio alpha: the Fast pathway sees ALPHA times the frames of the Slow pathway.
_C.SLOWFAST.ALPHA = 8
# Output channels of a lateral connection relative to the Fast channels (2 -> 2*beta*C).
_C.SLOWFAST.FUSION_CONV_CHANNEL_RATIO = 2
# Temporal kernel size of the time-strided lateral convolution.
_C.SLOWFAST.FUSION_KERNEL_SZ = 5

# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------
_C.DATA = CfgNode()
# Folder with {train,val,test}.csv (Kinetics) or the dataset root (AVA).
_C.DATA.PATH_TO_DATA_DIR = ""
# Prefix joined to every video path in the CSVs ("" = paths as written).
_C.DATA.PATH_PREFIX = ""
# Separator between path and label in the Kinetics CSVs.
_C.DATA.PATH_LABEL_SEPARATOR = " "
# Frames fed to the network's widest pathway (alpha*T for SlowFast; the Slow pathway gets NUM_FRAMES/alpha).
_C.DATA.NUM_FRAMES = 32
# Stride between the frames of the widest pathway in raw frames at DATA.TARGET_FPS (tau/alpha for SlowFast).
_C.DATA.SAMPLING_RATE = 2
# Frame rate the sampling is defined at (videos of other rates are resampled in time).
_C.DATA.TARGET_FPS = 30
# Per-channel mean (RGB, on [0, 1] pixel values).
_C.DATA.MEAN = [0.45, 0.45, 0.45]
# Per-channel std (RGB, on [0, 1] pixel values).
_C.DATA.STD = [0.225, 0.225, 0.225]
# Input channels per pathway.
_C.DATA.INPUT_CHANNEL_NUM = [3, 3]
# Training short-side scale jitter [min, max] ([256, 340]; [256, 360] when T*tau > 64).
_C.DATA.TRAIN_JITTER_SCALES = [256, 320]
# Training crop size.
_C.DATA.TRAIN_CROP_SIZE = 224
# Test short side and crop size.
_C.DATA.TEST_CROP_SIZE = 256
# Random horizontal flip at training time.
_C.DATA.RANDOM_FLIP = True
# Video decoding backend: "pyav" or "torchcodec" (same frames; needs pip install -e .[torchcodec] and FFmpeg 4-9 libraries).
_C.DATA.DECODING_BACKEND = "pyav"
# Where DATA.DECODING_BACKEND torchcodec decodes: "cpu" or "cuda" (NVDEC; frames come back to the CPU as uint8).
_C.DATA.DECODING_DEVICE = "cpu"
# Feed frames as BGR instead of RGB (some Caffe2 checkpoints expect BGR).
_C.DATA.REVERSE_INPUT_CHANNEL = False
# How the test views of one video are combined: "sum" (PySlowFast's TestMeter), "mean" (sum / decoded views) or "max".
_C.DATA.ENSEMBLE_METHOD = "sum"
# Multi-label classification (Charades-style CSV rows "path id,id,..."; MODEL.LOSS_FUNC bce, test metric mAP).
_C.DATA.MULTI_LABEL = False
# Generate the built-in synthetic dataset into DATA.PATH_TO_DATA_DIR when it holds none.
_C.DATA.GENERATE_SYNTHETIC = False
# Max times a broken video is replaced by another random sample before giving up.
_C.DATA.MAX_DECODE_RETRIES = 10
# Kinetics data source: "files" ({split}.csv + videos), "shards" (tools/make_shards.py's tar shards + {split}.json, local or a URL) or "auto" (shards when DATA.PATH_TO_DATA_DIR is a URL or holds {split}.json).
_C.DATA.FORMAT = "auto"
# Shards: samples in each loader stream's training shuffle buffer (0 or 1: no shuffling inside a stream; shard order is still shuffled per epoch).
_C.DATA.SHUFFLE_BUFFER = 64
# Frame picking: "pyslowfast" (its decoder's clip placement and index resampling) or "timestamps" (time grid, nearest frame).
_C.DATA.TEMPORAL_SAMPLING = "pyslowfast"
# Slow pathway frames from the Fast clip: "linspace" (PySlowFast, linspace(0, T-1, T/alpha)) or "stride" (every alpha-th).
_C.DATA.SLOW_PATHWAY_SAMPLING = "linspace"
# Validation view: "random" (PySlowFast: a training-style random view) or "fixed" (test clip 0 of 1, centre crop).
_C.DATA.VAL_VIEW = "random"
# Kinetics training views on uint8 frames (crop of the jittered resize only, OpenCV); False = float resize then crop.
_C.DATA.UINT8_TRAIN_PIPELINE = True
# Training clips (Kinetics with the uint8 pipeline, AVA "pyslowfast") leave the loader as uint8; the model normalises them on its device.
_C.DATA.NORMALIZE_ON_DEVICE = True

# ---------------------------------------------------------------------------------------------
# Built-in synthetic Kinetics-format dataset (generated when DATA.GENERATE_SYNTHETIC is set)
# ---------------------------------------------------------------------------------------------
_C.SYNTHETIC = CfgNode()
# Frame height and width of the synthetic videos (pixels).
_C.SYNTHETIC.SIZE = 64
# Frames per synthetic video (at 30 fps).
_C.SYNTHETIC.NUM_FRAMES = 75
# Number of training videos.
_C.SYNTHETIC.NUM_TRAIN = 192
# Number of validation videos.
_C.SYNTHETIC.NUM_VAL = 48
# Number of test videos.
_C.SYNTHETIC.NUM_TEST = 48
# Synthetic AVA: training videos (each with SYNTHETIC.AVA_KEYFRAMES key frames of 3 persons).
_C.SYNTHETIC.AVA_TRAIN_VIDEOS = 6
# Synthetic AVA: validation videos.
_C.SYNTHETIC.AVA_VAL_VIDEOS = 2
# Synthetic AVA: key frames (seconds) per video.
_C.SYNTHETIC.AVA_KEYFRAMES = 5

# ---------------------------------------------------------------------------------------------
# Detection (AVA)
# ---------------------------------------------------------------------------------------------
_C.DETECTION = CfgNode()
# Build the detection variant (RoI head on res5, box inputs).
_C.DETECTION.ENABLE = False
# RoIAlign "aligned" flag (half-pixel offset, torchvision); PySlowFast's zoo AVA detectors use False.
_C.DETECTION.ALIGNED = True
# Total spatial stride of the res5 feature map (16 with res5 stride 1, 32 otherwise).
_C.DETECTION.SPATIAL_SCALE_FACTOR = 16
# RoIAlign output resolution (H, W).
_C.DETECTION.ROI_XFORM_RESOLUTION = 7
# Add the non-local context branch (global clip feature attends to region features) to the RoI head.
_C.DETECTION.CONTEXT_BRANCH = False

_C.AVA = CfgNode()
# Folder with one JPEG folder per video.
_C.AVA.FRAME_DIR = ""
# Folder with frame_lists/{train,val}.csv.
_C.AVA.FRAME_LIST_DIR = ""
# Folder with annotations, proposals, label map and exclusions.
_C.AVA.ANNOTATION_DIR = ""
# Frame list files used for training.
_C.AVA.TRAIN_LISTS = ["train.csv"]
# Frame list files used for testing.
_C.AVA.TEST_LISTS = ["val.csv"]
# Ground-truth box files used for training.
_C.AVA.TRAIN_GT_BOX_LISTS = ["ava_train_v2.2.csv"]
# Proposal box files added to the training samples (those with IoU > AVA.TRAIN_PROPOSAL_IOU to a GT box).
_C.AVA.TRAIN_PREDICT_BOX_LISTS = []
# Proposal box files used at test time.
_C.AVA.TEST_PREDICT_BOX_LISTS = ["ava_val_predicted_boxes.csv"]
# Keep proposals whose detector score is >= this threshold (> with AVA.DETECTION_SCORE_STRICT).
_C.AVA.DETECTION_SCORE_THRESH = 0.8
# Keep training proposals whose IoU with some ground-truth box exceeds this (0.9; 0.75 in one variant).
_C.AVA.TRAIN_PROPOSAL_IOU = 0.9
# Frames are stored as BGR.
_C.AVA.BGR = False
# Label map of the evaluated classes.
_C.AVA.LABEL_MAP_FILE = "ava_action_list_v2.2_for_activitynet_2019.pbtxt"
# Excluded (video, timestamp) keys.
_C.AVA.EXCLUSION_FILE = "ava_val_excluded_timestamps_v2.2.csv"
# Ground truth for evaluation.
_C.AVA.GROUNDTRUTH_FILE = "ava_val_v2.2.csv"
# Evaluator rules: "2018", "2019" (the report's challenge) or "2020".
_C.AVA.EVAL_VERSION = "2019"
# Test-time short-side scales ("++" uses several); [] = DATA.TEST_CROP_SIZE only.
_C.AVA.TEST_SCALES = []
# Add horizontally flipped test views ("++").
_C.AVA.TEST_FLIP = False
# Frame rate of the extracted frames in frames per second (AVA: 30; tools/prepare_ava.py --fps).
_C.AVA.FPS = 30
# Second of the video shown by frame file 1 of every frame folder (AVA: 900; tools/prepare_ava.py --start-sec).
_C.AVA.START_SEC = 900
# First annotated key-frame second (AVA: 902); tools/check_dataset.py reports timestamps outside the key-frame window.
_C.AVA.KEYFRAME_START_SEC = 902
# Last annotated key-frame second, inclusive (AVA: 1798).
_C.AVA.KEYFRAME_END_SEC = 1798
# Training stops when more AVA key frames than this were replaced in one epoch for unreadable frame files (-1 = no limit).
_C.AVA.MAX_REPLACED_KEYFRAMES = 100
# Spatial pipeline: "pyslowfast" (its cv2 loader: uint8 INTER_LINEAR resize, inclusive boxes) or "exact" (ours).
_C.AVA.PREPROCESS = "pyslowfast"
# Keep proposals with score > AVA.DETECTION_SCORE_THRESH (the report's wording) instead of >= (PySlowFast's).
_C.AVA.DETECTION_SCORE_STRICT = False
# Validation during training scores every key second, not only those divisible by 4 (PySlowFast's key).
_C.AVA.FULL_TEST_ON_VAL = False
# Validation views are the centre TEST_CROP_SIZE square (PySlowFast's val split); False: full frames as at test.
_C.AVA.VAL_CENTER_CROP = True
# Train on kept proposals that match no ground-truth box too, with all-zero targets (off in the report).
_C.AVA.TRAIN_NEGATIVE_PROPOSALS = False

# ---------------------------------------------------------------------------------------------
# Optimizer and schedule
# ---------------------------------------------------------------------------------------------
_C.SOLVER = CfgNode()
# Base learning rate for the total batch TRAIN.BATCH_SIZE (scale linearly with the batch).
_C.SOLVER.BASE_LR = 0.1
# Schedule: "cosine" (half-period cosine) or "steps_with_relative_lrs".
_C.SOLVER.LR_POLICY = "cosine"
# Final lr of the cosine schedule.
_C.SOLVER.COSINE_END_LR = 0.0
# Epochs at which a new step starts (first entry 0), for steps_with_relative_lrs.
_C.SOLVER.STEPS = []
# Relative lr of each step (multiplied by SOLVER.BASE_LR), for steps_with_relative_lrs.
_C.SOLVER.LRS = []
# Number of training epochs.
_C.SOLVER.MAX_EPOCH = 300
# SGD momentum.
_C.SOLVER.MOMENTUM = 0.9
# SGD dampening.
_C.SOLVER.DAMPENING = 0.0
# Nesterov momentum.
_C.SOLVER.NESTEROV = True
# L2 weight decay (1e-4 Kinetics, 1e-7 AVA).
_C.SOLVER.WEIGHT_DECAY = 1e-4
# Linear warm-up length in epochs (fractional allowed).
_C.SOLVER.WARMUP_EPOCHS = 0.0
# Learning rate at the start of warm-up.
_C.SOLVER.WARMUP_START_LR = 0.01
# Optimizer: "sgd" or "adamw".
_C.SOLVER.OPTIMIZING_METHOD = "sgd"
# Learning-rate multiplier of the head's parameters (head.*) through the whole schedule (fine-tuning: e.g. 10).
_C.SOLVER.HEAD_LR_MULT = 1.0
# Clip every gradient element to [-v, v] before the step (PySlowFast); None or 0 = off.
_C.SOLVER.CLIP_GRAD_VAL = None
# Clip the gradients' total L2 norm to this value before the step (PySlowFast); None or 0 = off.
_C.SOLVER.CLIP_GRAD_L2NORM = None

# ---------------------------------------------------------------------------------------------
# Data loader
# ---------------------------------------------------------------------------------------------
_C.DATA_LOADER = CfgNode()
# Worker processes per data loader.
_C.DATA_LOADER.NUM_WORKERS = 4
# Pin host memory for faster GPU transfer.
_C.DATA_LOADER.PIN_MEMORY = True

# ---------------------------------------------------------------------------------------------
# TensorBoard
# ---------------------------------------------------------------------------------------------
_C.TENSORBOARD = CfgNode()
# Write TensorBoard scalars.
_C.TENSORBOARD.ENABLE = False
# TensorBoard folder ("" = OUTPUT_DIR/runs).
_C.TENSORBOARD.LOG_DIR = ""
# Class-name file for figures (JSON {name: index}, .pbtxt or one name a line); "" = DEMO.LABEL_FILE_PATH's names.
_C.TENSORBOARD.CLASS_NAMES_PATH = ""
_C.TENSORBOARD.CONFUSION_MATRIX = CfgNode()
# Also add the test's confusion matrix to TensorBoard (confusion.png beside results.json is always written).
_C.TENSORBOARD.CONFUSION_MATRIX.ENABLE = False
# Figure size (inches, width height) of the confusion matrix, in TensorBoard and in confusion.png.
_C.TENSORBOARD.CONFUSION_MATRIX.FIGSIZE = [8, 8]
# Model visualization (PySlowFast's keys; tools/visualize.py gradcam runs Grad-CAM whatever ENABLE says).
_C.TENSORBOARD.MODEL_VIS = CfgNode()
# Kept for PySlowFast configs: turns model visualization on there (tools/visualize.py does not need it).
_C.TENSORBOARD.MODEL_VIS.ENABLE = False
# Grad-CAM maps per pathway (and per AVA box): tools/visualize.py gradcam, GETTING_STARTED.md "Looking inside a model".
_C.TENSORBOARD.MODEL_VIS.GRAD_CAM = CfgNode()
# Kept for PySlowFast configs: turns Grad-CAM on there (tools/visualize.py gradcam does not need it).
_C.TENSORBOARD.MODEL_VIS.GRAD_CAM.ENABLE = False
# Grad-CAM layer per pathway, "/" or "." spelling ("s5/pathway0_res0"); [] = last block of s5 of each pathway.
_C.TENSORBOARD.MODEL_VIS.GRAD_CAM.LAYER_LIST = []
# Grad-CAM of the labelled class (--input CSV rows' labels) instead of the predicted one.
_C.TENSORBOARD.MODEL_VIS.GRAD_CAM.USE_TRUE_LABEL = False
# Matplotlib colormap name of the Grad-CAM overlays.
_C.TENSORBOARD.MODEL_VIS.GRAD_CAM.COLORMAP = "viridis"
# Channel weights: "channel_mean" (Grad-CAM), "per_position" (gradient x activation), "auto" (per_position for AVA boxes).
_C.TENSORBOARD.MODEL_VIS.GRAD_CAM.WEIGHTING = "auto"

# ---------------------------------------------------------------------------------------------
# Run
# ---------------------------------------------------------------------------------------------
# GPUs per machine (one process each); 0 = run on CPU.
_C.NUM_GPUS = 1
# CPU processes per machine when NUM_GPUS is 0 (gloo backend).
_C.NUM_PROCESSES = 1
# Number of machines.
_C.NUM_SHARDS = 1
# Index of this machine.
_C.SHARD_ID = 0
# torch.distributed backend ("nccl" on GPU; "gloo" is used on CPU whatever this says).
_C.DIST_BACKEND = "nccl"
# Seconds the processes wait for all of the run's processes (every machine) to join before giving up with one line.
_C.DIST_INIT_TIMEOUT_SEC = 1800
# Output folder for checkpoints, logs, predictions and results.
_C.OUTPUT_DIR = "./output"
# Random seed.
_C.RNG_SEED = 1
# Log every this many iterations.
_C.LOG_PERIOD = 10
# Log the model summary (FLOPs, parameters) at start-up.
_C.LOG_MODEL_INFO = True


# ---------------------------------------------------------------------------------------------
# Demo and feature extraction on users' own videos (tools/demo.py, tools/extract_features.py)
# ---------------------------------------------------------------------------------------------
_C.DEMO = CfgNode()
# Class names: a file (JSON {name: index}, AVA .pbtxt, or one name per line) or a shipped list name
# (kinetics_400/600/700, ava_v2.2, ava_v2.2_activitynet_2019); "" = the shipped list matching MODEL.NUM_CLASSES.
_C.DEMO.LABEL_FILE_PATH = ""
# Seconds between clip starts (classification, features) or key frames (detection: a whole number).
_C.DEMO.STRIDE_SEC = 1.0
# Top classes drawn and written per clip (classification); most actions drawn per person box (detection).
_C.DEMO.TOP_K = 3
# Classification: "center" = centre TEST_CROP_SIZE^2 crop after the short-side resize (the test view), "full" = whole frame.
_C.DEMO.CROP = "center"
# Detection without --boxes: person detector, "" = none (then --boxes is required) or "torchvision".
_C.DEMO.DETECTOR = ""
# torchvision detection builder name (COCO-trained; person = COCO class 1).
_C.DEMO.DETECTOR_MODEL = "fasterrcnn_resnet50_fpn"
# Detector weights: a local state-dict file, a torchvision weight name ("DEFAULT", downloaded where a network exists) or "NONE" (untrained; tests).
_C.DEMO.DETECTOR_WEIGHTS = "DEFAULT"
# Keep detected persons with a score above this (PySlowFast's demo uses 0.9).
_C.DEMO.DETECTOR_THRESH = 0.9
# Detection: draw (and keep in the JSON) the actions of a box whose score is above this.
_C.DEMO.ACTION_THRESH = 0.5
# Short side in pixels of the labelled output video (frames, text and boxes drawn at that size; the model input is unchanged); 0 = the input's size.
_C.DEMO.DISPLAY_SIZE = 480


# ---------------------------------------------------------------------------------------------
# Mixup / CutMix and label smoothing on training batches (PySlowFast's keys; classification only)
# ---------------------------------------------------------------------------------------------
_C.MIXUP = CfgNode()
# Mix each training batch with itself reversed (on the device, every pathway and frame alike); soft-target loss.
_C.MIXUP.ENABLE = False
# Mixup's Beta(alpha, alpha) for the mixing weight; 0 = no mixup (CutMix only).
_C.MIXUP.ALPHA = 0.8
# CutMix's Beta(alpha, alpha) for the kept area; 0 = no CutMix (mixup only).
_C.MIXUP.CUTMIX_ALPHA = 1.0
# Probability that a batch is mixed at all (label smoothing applies either way).
_C.MIXUP.PROB = 1.0
# Probability of CutMix instead of mixup when both alphas are > 0.
_C.MIXUP.SWITCH_PROB = 0.5
# Label smoothing: targets are 1 - v + v/C for the class, v/C for the others.
_C.MIXUP.LABEL_SMOOTH_VALUE = 0.1

# ---------------------------------------------------------------------------------------------
# Training-clip augmentation (PySlowFast's keys; Kinetics-format training split)
# ---------------------------------------------------------------------------------------------
_C.AUG = CfgNode()
# RandAugment (AUG.AA_TYPE) on every training clip, the same ops and magnitudes on all its frames.
_C.AUG.ENABLE = False
# Clips cut from one decode of each training video, each augmented independently (the loader yields NUM_SAMPLE x more).
_C.AUG.NUM_SAMPLE = 1
# RandAugment policy "rand-m<magnitude 0..10>-n<ops>-mstd<magnitude std>-inc<0|1>" (timm's grammar; defaults n2, mstd0, inc0).
_C.AUG.AA_TYPE = "rand-m9-mstd0.5-inc1"

# ---------------------------------------------------------------------------------------------
# Multigrid training (Wu et al., CVPR 2020; PySlowFast's keys; Kinetics-format training, slowfast/solver/multigrid.py)
# ---------------------------------------------------------------------------------------------
_C.MULTIGRID = CfgNode()
# Multigrid epochs = SOLVER.MAX_EPOCH x EPOCH_FACTOR (epochs over the data; the larger batches need fewer iterations).
_C.MULTIGRID.EPOCH_FACTOR = 1.5
# Short cycle: every 3 iterations, crops of DEFAULT_S x SHORT_CYCLE_FACTORS (batch x (S/size)^2), then the phase's crop.
_C.MULTIGRID.SHORT_CYCLE = False
# Spatial factors of the short cycle's two small shapes.
_C.MULTIGRID.SHORT_CYCLE_FACTORS = [0.5, 0.5 ** 0.5]
# Long cycle: phases of (frames, crop) = (NUM_FRAMES x t, TRAIN_CROP_SIZE x s), batch x T*S*S kept, lr x batch factor.
_C.MULTIGRID.LONG_CYCLE = False
# (t, s) factors of the long cycle's phases, repeated within every lr step (SOLVER.STEPS; cosine: one step).
_C.MULTIGRID.LONG_CYCLE_FACTORS = [[0.25, 0.5 ** 0.5], [0.5, 0.5 ** 0.5], [0.5, 1], [1, 1]]
# PySlowFast's BN group size for its per-phase BN switch; here only checked (> 0): BN.NORM_TYPE stays as set.
_C.MULTIGRID.BN_BASE_SIZE = 8
# Long cycle with TRAIN.EVAL_PERIOD > 0: about this many validations per phase (the last at its end), not EVAL_PERIOD.
_C.MULTIGRID.EVAL_FREQ = 3
# Frame sampling rate for the long cycle's short clips; 0 = DATA.SAMPLING_RATE x (NUM_FRAMES / phase frames).
_C.MULTIGRID.LONG_CYCLE_SAMPLING_RATE = 0
# PySlowFast's stored base batch / frames / crop; 0 = TRAIN.BATCH_SIZE / DATA.NUM_FRAMES / DATA.TRAIN_CROP_SIZE.
_C.MULTIGRID.DEFAULT_B = 0
# Base number of frames (0 = DATA.NUM_FRAMES).
_C.MULTIGRID.DEFAULT_T = 0
# Base crop size (0 = DATA.TRAIN_CROP_SIZE).
_C.MULTIGRID.DEFAULT_S = 0


def get_cfg() -> CfgNode:
    """Return a fresh copy of the defaults."""
    return _C.clone()
