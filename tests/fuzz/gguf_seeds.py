#!/usr/bin/env python3
"""gguf_seeds.py OUTDIR: write small valid GGUF files as a fuzzing seed corpus.

Each file uses the standard layout (header, key/values, tensor infos, padding
to the alignment, tensor data at aligned offsets) and exercises one area:
every metadata value type, string arrays, several tensor types and ranks,
v2 vs v3, a non-default alignment, a vocab-only file without tensors.
"""
import os
import struct
import sys

# (type id, block size, bytes per block) of a few ggml types.
F32, F16, Q4_0, Q8_0, Q4_K, I8 = (0, 1, 4), (1, 1, 2), (2, 32, 18), (8, 32, 34), (12, 256, 144), (24, 1, 1)


def s(x: bytes) -> bytes:
    return struct.pack("<Q", len(x)) + x


def kv(key: str, vtype: int, payload: bytes) -> bytes:
    return s(key.encode()) + struct.pack("<I", vtype) + payload


def gguf(kvs, tensors, version=3, alignment=32) -> bytes:
    """tensors: list of (name, (type, blck, size), ne list)."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs)) + b"".join(kvs)
    off, infos, datas = 0, [], []
    for name, (tid, blck, tsize), ne in tensors:
        nbytes = ne[0] // blck * tsize
        for d in ne[1:]:
            nbytes *= d
        infos.append(s(name.encode()) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
                     + struct.pack("<IQ", tid, off))
        data = bytes((i * 31 + 7) & 0xFF for i in range(nbytes))
        pad = (-nbytes) % alignment
        datas.append(data + b"\0" * pad)
        off += nbytes + pad
    out += b"".join(infos)
    if tensors:
        out += b"\0" * ((-len(out)) % alignment) + b"".join(datas)
    return out


def arr(etype: int, fmt: str, values) -> bytes:
    return struct.pack("<IQ", etype, len(values)) + b"".join(struct.pack("<" + fmt, v) for v in values)


def str_arr(values) -> bytes:
    return struct.pack("<IQ", 8, len(values)) + b"".join(s(v.encode()) for v in values)


def main() -> None:
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    all_types = [
        kv("a.u8", 0, struct.pack("<B", 200)), kv("a.i8", 1, struct.pack("<b", -3)),
        kv("a.u16", 2, struct.pack("<H", 65535)), kv("a.i16", 3, struct.pack("<h", -300)),
        kv("a.u32", 4, struct.pack("<I", 7)), kv("a.i32", 5, struct.pack("<i", -7)),
        kv("a.f32", 6, struct.pack("<f", 0.5)), kv("a.bool", 7, b"\x01"),
        kv("a.str", 8, s(b"hello")), kv("a.u64", 10, struct.pack("<Q", 2**64 - 1)),
        kv("a.i64", 11, struct.pack("<q", -2**63)), kv("a.f64", 12, struct.pack("<d", 1e-300)),
        kv("a.arr.i32", 9, arr(5, "i", [1, -2, 3])), kv("a.arr.bool", 9, arr(7, "B", [1, 0])),
        kv("a.arr.f32", 9, arr(6, "f", [0.25, -1.0])), kv("a.arr.empty", 9, arr(0, "B", [])),
    ]
    vocab = [
        kv("general.architecture", 8, s(b"llama")),
        kv("tokenizer.ggml.model", 8, s(b"llama")),
        kv("tokenizer.ggml.tokens", 9, str_arr(["<unk>", "<s>", "</s>", "\u2581the", "", "\u00e9"])),
        kv("tokenizer.ggml.scores", 9, arr(6, "f", [0.0, 0.0, 0.0, -1.5, -2.0, -3.0])),
        kv("tokenizer.ggml.token_type", 9, arr(5, "i", [2, 3, 3, 1, 1, 1])),
    ]
    seeds = {
        "all_types.gguf": gguf(all_types, []),
        "vocab.gguf": gguf(vocab, []),
        "f32.gguf": gguf([kv("general.architecture", 8, s(b"llama"))],
                         [("token_embd.weight", F32, [8, 6]), ("output_norm.weight", F32, [8])]),
        "mixed.gguf": gguf(vocab[:1], [("a", F16, [4, 2, 3]), ("b", Q8_0, [64, 2]), ("c", Q4_0, [32]),
                                       ("d", I8, [3, 1, 1, 2])]),
        "q4k.gguf": gguf([], [("blk.0.ffn_up.weight", Q4_K, [256, 2])]),
        "align64.gguf": gguf([kv("general.alignment", 4, struct.pack("<I", 64))],
                             [("x", F32, [3]), ("y", F16, [5])], alignment=64),
        "v2.gguf": gguf(vocab[:2], [("w", F32, [4])], version=2),
        "empty.gguf": gguf([], []),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"gguf_seeds: wrote {len(seeds)} seeds to {out}")


if __name__ == "__main__":
    main()
