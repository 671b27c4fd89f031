"""Annotate a folder of photos on Ray (a local Ray here; pass an address for a cluster) and write Parquet.

pip install "emotionkit[ray,tensorflow]"
python examples/annotate_on_ray.py PHOTOS_FOLDER [--address ray://head-node:10001] [--out emotions]
"""

import argparse

import ray

from emotionkit.distributed import annotate_dataset

parser = argparse.ArgumentParser()
parser.add_argument("photos")
parser.add_argument("--address", default=None, help="a Ray cluster address; default: start a local Ray")
parser.add_argument("--out", default="emotions")
parser.add_argument("--actors", type=int, default=2)
args = parser.parse_args()

# --8<-- [start:ray]
ray.init(address=args.address)  # ray.init("ray://head-node:10001") on an existing cluster
rows = annotate_dataset([args.photos], concurrency=args.actors, batch_size=64, num_cpus=1)
rows.write_parquet(args.out)  # Ray's own writer: one Parquet file per block
# --8<-- [end:ray]
print(f"wrote {args.out}: {rows.count()} rows")
