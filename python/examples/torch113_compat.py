"""Debian's torch 1.13 on Python 3.11: `import torch.distributed.fsdp` fails there (a dataclass in
torch/distributed/_shard/sharded_tensor/metadata.py has a mutable default, which Python 3.11
rejects). transformers' `generate` imports it only to ask isinstance(model, FullyShardedDataParallel);
nothing in the TRL comparison shards a model, so a stand-in module with that class answers no.
"""
import sys
import types


def patch_fsdp_import():
    try:
        import torch.distributed.fsdp  # noqa: F401
    except ValueError:
        stub = types.ModuleType("torch.distributed.fsdp")

        class FullyShardedDataParallel:  # never instantiated: isinstance(x, it) is False
            pass

        stub.FullyShardedDataParallel = FullyShardedDataParallel
        sys.modules["torch.distributed.fsdp"] = stub
        import torch.distributed

        torch.distributed.fsdp = stub
