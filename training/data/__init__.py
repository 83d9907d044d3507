"""Real Corsica data: commune outlines, BDIFF fires and daily weather, loaded and checked.

`load_dataset(uri)` reads a data folder from a local path, an http(s):// base URL or an
s3://bucket/prefix and returns a `Dataset` with typed tables, a check report and a digest.
"""

from training.data.dataset import Dataset, load_dataset

__all__ = ["Dataset", "load_dataset"]
