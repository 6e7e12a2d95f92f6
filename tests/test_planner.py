"""The fit planner's numbers, pinned against arithmetic written out here.

Constants used in the hand computations (see console/planner/fit.py):
  MiB = 2**20, GiB = 2**30
  runtime overhead (driver reserve + CUDA context) = 1 GiB = 1024 MiB per GPU
  MXFP4 = 0.5 + 1/32 = 0.53125 bytes/param; experts padded 2880 -> 3072
  KV per token per layer per GPU, bf16 = 2 (K,V) * (8/tp heads) * 64 dims * 2 bytes = 2048/tp
  hybrid pool: max_total_num_tokens = int(cell_tokens * layers / (0.8 * swa_layers + full_layers))
"""

from __future__ import annotations

import json

import pytest

from console.planner import catalog, fit
from console.planner.fit import DOES_NOT_FIT, FITS, FITS_SHORTER, PlanError, plan, recommend

MiB, GiB = 2**20, 2**30

# -- weights, by hand --------------------------------------------------------------
# per expert: gate_up 2880x5760 + down 5760/2 x 2880 = 16,588,800 + 8,294,400 = 24,883,200 params
EXPERT_PARAMS_120B = 24_883_200 * 128 * 36  # 114,661,785,600
EXPERT_PARAMS_20B = 24_883_200 * 32 * 24  # 19,110,297,600


def dense_params(layers: int, experts: int) -> int:
    # attention: q 2880x4096+4096, k,v 2880x512+512 each, o 4096x2880+2880, sinks 64
    attn = 2880 * 4096 + 4096 + 2 * (2880 * 512 + 512) + 4096 * 2880 + 2880 + 64
    router = 2880 * experts + experts
    expert_bias = (2 * 2880 + 2880) * experts
    norms = 2 * 2880
    return (attn + router + expert_bias + norms) * layers + 2 * 201088 * 2880 + 2880


def replicated_params(layers: int, experts: int) -> int:
    return (2880 * experts + experts + 2 * 2880) * layers + 2880


def weights_per_gpu(expert_params: int, layers: int, experts: int, tp: int) -> int:
    experts_bytes = expert_params * 0.53125 * 3072 / 2880
    rep = replicated_params(layers, experts)
    sharded = experts_bytes + (dense_params(layers, experts) - rep) * 2
    return int(sharded / tp + rep * 2)


def pool_tokens(total_mib: int, fraction: float, weights: int, tp: int, layers: int, swa: int) -> int:
    pool = int((total_mib - 1024) * MiB * fraction) - weights
    cell_tokens = pool // (2048 // tp * layers)
    return int(cell_tokens * layers / (0.8 * swa + (layers - swa)))


# -- catalog ---------------------------------------------------------------------------


def test_model_shapes_reproduce_published_sizes():
    m120, m20 = catalog.MODELS["gpt-oss-120b"], catalog.MODELS["gpt-oss-20b"]
    assert m120.expert_params == EXPERT_PARAMS_120B
    assert m20.expert_params == EXPERT_PARAMS_20B
    assert m120.dense_params == dense_params(36, 128)
    # the model card's 117B / 21B total parameters
    assert round(m120.params_total / 1e9) == 117
    assert round(m20.params_total / 1e9) == 21
    # unpadded on-disk bytes match the published checkpoint sizes (60.8 / 12.8 GiB)
    on_disk_120 = (EXPERT_PARAMS_120B * 0.53125 + dense_params(36, 128) * 2) / GiB
    on_disk_20 = (EXPERT_PARAMS_20B * 0.53125 + dense_params(24, 32) * 2) / GiB
    assert on_disk_120 == pytest.approx(m120.checkpoint_gib, abs=0.05)
    assert on_disk_20 == pytest.approx(m20.checkpoint_gib, abs=0.05)
    assert (m120.full_layers, m120.sliding_layers) == (18, 18)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("H100-80GB", "H100-80GB"),
        ("h100", "H100-80GB"),
        ("NVIDIA H100 80GB HBM3", "H100-80GB"),
        ("NVIDIA H100 PCIe", "H100-80GB"),
        ("H200", "H200-141GB"),
        ("NVIDIA A100-SXM4-40GB", "A100-40GB"),
        ("NVIDIA A100 80GB PCIe", "A100-80GB"),
        ("a100-80gb", "A100-80GB"),
        ("L4", "L4-24GB"),
        ("L40S", "L40S-48GB"),
        ("A10", "A10-24GB"),
        ("NVIDIA GeForce RTX 4090", "RTX-4090-24GB"),
        ("rtx 3090", "RTX-3090-24GB"),
        ("5090", "RTX-5090-32GB"),
        ("B200", "B200-180GB"),
    ],
)
def test_gpu_lookup_accepts_usual_spellings(name, expected):
    assert catalog.lookup_gpu(name).name == expected


def test_gpu_lookup_errors_name_the_choices():
    with pytest.raises(catalog.UnknownName, match="ambiguous: A100-40GB, A100-80GB"):
        catalog.lookup_gpu("A100")
    with pytest.raises(catalog.UnknownName) as err:
        catalog.lookup_gpu("Voodoo 5")
    for name in ("H100-80GB", "L40S-48GB", "RTX-5090-32GB"):
        assert name in str(err.value)


def test_catalog_memory_and_arch():
    h100 = catalog.lookup_gpu("H100")
    assert h100.memory_total == 81559 * MiB and h100.arch == "Hopper" and h100.sm == "sm90"
    assert catalog.lookup_gpu("B200").arch == "Blackwell"
    assert catalog.lookup_gpu("RTX 5090").arch == "Blackwell (consumer)"
    assert catalog.lookup_gpu("L40S").arch == "Ada"
    assert catalog.lookup_gpu("A10").arch == "Ampere"
    assert catalog.arch_name(None) == "unknown"


def test_gpu_from_nvml_uses_measured_memory_and_keeps_unknown_cards():
    assert catalog.gpu_from_nvml("NVIDIA H100 80GB HBM3", 81559 * MiB, (9, 0)) is catalog.lookup_gpu("H100")
    odd = catalog.gpu_from_nvml("NVIDIA H100 NVL", 95830 * MiB, (9, 0))
    assert odd.memory_total == 95830 * MiB and odd.arch == "Hopper"
    p = plan("120b", odd, 1)
    assert any("not in the catalog" in w for w in p.warnings)


def test_lookup_model_spellings():
    for n in ("gpt-oss-120b", "openai/gpt-oss-120b", "120b", "GPT-OSS-120B"):
        assert catalog.lookup_model(n).name == "gpt-oss-120b"
    with pytest.raises(catalog.UnknownName, match="gpt-oss-20b"):
        catalog.lookup_model("llama")


# -- building blocks -----------------------------------------------------------------


def test_tp_sizes_divide_the_heads():
    assert fit.valid_tp_sizes("120b", 8) == [1, 2, 4, 8]
    assert fit.valid_tp_sizes("120b", 6) == [1, 2, 4]
    assert fit.valid_tp_sizes("20b", 3) == [1, 2]


def test_tp3_rejected_and_tp_beyond_gpu_count_rejected():
    with pytest.raises(PlanError, match="TP=3 is not valid.*64 query heads and 8 KV heads"):
        plan("120b", "H100", 4, tp=3)
    with pytest.raises(PlanError, match="needs 4 GPUs, only 2"):
        plan("120b", "H100", 2, tp=4)


def test_six_gpus_give_tp4_and_say_why():
    tp, reason = fit.choose_tp("120b", "H100", 6)
    assert tp == 4
    assert "6 is not a valid TP" in reason and "2 GPU(s) stay idle" in reason


def test_weights_per_gpu():
    assert fit.weight_bytes_per_gpu("120b", 1) == weights_per_gpu(EXPERT_PARAMS_120B, 36, 128, 1)
    assert fit.weight_bytes_per_gpu("120b", 2) == weights_per_gpu(EXPERT_PARAMS_120B, 36, 128, 2)
    # 64.5 GiB loaded, inside the 64-66 GiB vLLM reports for 120b on an H100
    assert round(fit.weight_bytes_per_gpu("120b", 1) / GiB, 1) == 64.5
    assert round(fit.weight_bytes_per_gpu("20b", 1) / GiB, 1) == 13.4


def test_kv_bytes_per_token():
    # 120b, TP=1: 2048 B/layer; 18 full + 0.8 x 18 sliding = 32.4 layer-slots -> 66,355.2 B
    assert fit.kv_bytes_per_token_per_gpu("120b", 1) == pytest.approx(2048 * 32.4)
    # without the hybrid pool every layer is full: 36 x 2048 = 72 KiB (reference: 72 KiB/token)
    assert fit.kv_bytes_per_token_per_gpu("120b", 1, hybrid_swa_pool=False) == 72 * 1024
    assert fit.kv_bytes_per_token_per_gpu("20b", 1, hybrid_swa_pool=False) == 48 * 1024
    # TP shards KV heads: TP=8 leaves one head per GPU
    assert fit.kv_bytes_per_token_layer("120b", 8) == 2048 // 8
    # a real 131,072-token sequence: full layers all tokens, sliding layers one 128-token window
    assert fit.kv_bytes_long_context("120b", 1, 131072) == 2048 * (18 * 131072 + 18 * 128)


def test_sglang_default_mem_fraction_rule():
    # H100: 81559 MiB < 90 GiB -> reserve 9.5 + tp/2 GiB
    assert fit.default_mem_fraction_static(81559 * MiB, 1) == round((81559 - 10 * 1024) / 81559, 3) == 0.874
    assert fit.default_mem_fraction_static(81559 * MiB, 2) == round((81559 - 10.5 * 1024) / 81559, 3) == 0.868
    # H200: 143771 MiB < 160 GiB -> 12 + tp/2
    assert fit.default_mem_fraction_static(143771 * MiB, 1) == round((143771 - 12.5 * 1024) / 143771, 3) == 0.911
    # B200: above 160 GiB -> 32 GiB flat
    assert fit.default_mem_fraction_static(183359 * MiB, 1) == round((183359 - 32768) / 183359, 3) == 0.821
    # L4: 23034 MiB < 35 GiB -> 2.8 + tp/10
    assert fit.default_mem_fraction_static(23034 * MiB, 1) == round((23034 - 2.9 * 1024) / 23034, 3) == 0.871


def test_backend_and_chunked_prefill_defaults():
    assert fit.attention_backend((9, 0)) == "fa3"
    assert fit.attention_backend((10, 0)) == "trtllm_mha"
    assert fit.attention_backend((8, 0)) == fit.attention_backend((12, 0)) == "triton"
    assert fit.chunked_prefill_default(23034 * MiB) == 2048
    assert fit.chunked_prefill_default(46068 * MiB) == 4096
    assert fit.chunked_prefill_default(81559 * MiB) == 8192
    assert fit.chunked_prefill_default(183359 * MiB) == 16384


# -- whole plans -----------------------------------------------------------------------


def test_120b_on_one_h100():
    w = weights_per_gpu(EXPERT_PARAMS_120B, 36, 128, 1)
    expected = pool_tokens(81559, 0.874, w, 1, 36, 18)
    # (81559-1024) MiB x 0.874 = 70,387.6 MiB budget; minus 64.55 GiB weights = 4.19 GiB pool
    # 4.19 GiB // 73,728 B = 60,994 cells x 36/32.4 = 67,771 tokens
    assert expected == 67771
    p = plan("gpt-oss-120b", "H100-80GB", 1)
    assert p.tp == 1 and p.mem_fraction_static == 0.874
    assert p.max_total_num_tokens == 67771
    assert p.max_context == 67771
    assert p.verdict == FITS_SHORTER
    assert p.recommended_context_length == 67584  # 66 x 1024
    assert p.attention_backend == "fa3" and p.chunked_prefill_size == 8192
    assert p.concurrency_at(8192) == 8 and p.concurrency_at(32768) == 2
    assert any("--mem-fraction-static 0.95" in r for r in p.reasons)
    assert not p.warnings


def test_120b_on_two_h100_tp2():
    w = weights_per_gpu(EXPERT_PARAMS_120B, 36, 128, 2)
    # 1,024 B/layer/token at TP=2: cell = 36 x 1024
    expected = pool_tokens(81559, 0.868, w, 2, 36, 18)
    assert expected == 1164390
    p = plan("gpt-oss-120b", "H100-80GB", 2)
    assert p.tp == 2 and p.mem_fraction_static == 0.868
    assert p.weight_bytes_per_gpu == w
    assert p.max_total_num_tokens == 1164390
    assert p.verdict == FITS and p.max_context == 131072
    assert p.concurrency == 1164390 // 131072 == 8


def test_20b_on_l4():
    w = weights_per_gpu(EXPERT_PARAMS_20B, 24, 32, 1)
    expected = pool_tokens(23034, 0.871, w, 1, 24, 12)
    assert expected == 128034
    p = plan("gpt-oss-20b", "L4", 1)
    assert p.max_total_num_tokens == 128034
    assert p.verdict == FITS_SHORTER and p.recommended_context_length == 128000
    assert p.attention_backend == "triton" and p.chunked_prefill_size == 2048
    assert any("Ada (sm89)" in w for w in p.warnings)


def test_120b_on_l40s_does_not_fit():
    p = plan("gpt-oss-120b", "L40S", 1)
    # (46068-1024) MiB x 0.778 = 34.2 GiB < 64.5 GiB of weights
    assert fit.default_mem_fraction_static(46068 * MiB, 1) == round((46068 - 10240) / 46068, 3) == 0.778
    assert p.verdict == DOES_NOT_FIT and not p.fits
    assert p.max_total_num_tokens == 0 and p.max_context == 0 and p.recommended_context_length == 0
    assert "Not enough memory" in p.reasons[0] and "64.5 GiB" in p.reasons[0]


def test_given_mem_fraction_and_concurrency():
    w = weights_per_gpu(EXPERT_PARAMS_120B, 36, 128, 1)
    p = plan("120b", "H100", 1, mem_fraction_static=0.95)
    assert p.max_total_num_tokens == pool_tokens(81559, 0.95, w, 1, 36, 18) == 164492
    assert p.verdict == FITS and p.launch_args["mem-fraction-static"] == 0.95
    assert any("activations and CUDA graphs" in x for x in p.warnings)
    # H200 pool 1,010,465 tokens: 40 requests at 32k need 1,310,720 -> shorter context
    q = plan("120b", "H200", 1, context_length=32768, concurrency=40)
    assert q.max_total_num_tokens == pool_tokens(143771, 0.911, w, 1, 36, 18) == 1010465
    assert q.concurrency == 1010465 // 32768 == 30
    assert q.verdict == FITS_SHORTER
    assert q.recommended_context_length == (1010465 // 40) // 1024 * 1024 == 24576


def test_bad_inputs_raise_plan_error():
    for kwargs in ({"context_length": 200_000}, {"concurrency": 0}, {"mem_fraction_static": 1.2}):
        with pytest.raises(PlanError):
            plan("120b", "H100", 1, **kwargs)
    with pytest.raises(PlanError, match="known:"):
        plan("120b", "TPU-v5", 1)
    with pytest.raises(PlanError):
        plan("120b", "H100", 0)


def test_recommend_20b_prefers_tp1_and_120b_largest_tp():
    p = recommend("gpt-oss-20b", "H100", 8)
    assert p.tp == 1 and "--dp" in p.tp_reason
    q = recommend("gpt-oss-120b", "H100", 8)
    assert q.tp == 8 and q.verdict == FITS
    # 120b on 2 x L40S: TP=2 splits 64.5 GiB into 32.3 GiB per card
    r = recommend("gpt-oss-120b", "L40S", 2)
    assert r.tp == 2


def test_plan_to_dict_is_json():
    d = plan("120b", "H100", 2).to_dict()
    text = json.dumps(d)
    assert json.loads(text)["max_total_num_tokens"] == 1164390
    assert d["verdict_text"] == "fits" and d["launch_args"]["tp"] == 2
    assert d["launch_args"]["model-path"] == "openai/gpt-oss-120b"
    assert matrix_models() == ["gpt-oss-20b", "gpt-oss-120b"]


def matrix_models():
    return [p.model for p in fit.matrix("H100", 1)]


def test_per_token_costs_in_the_plan_and_pool_without_swa():
    p = plan("120b", "H100", 1)
    # 18 full layers x 2048 B = 36 KiB per token; 18 sliding layers x 128 tokens x 2048 B = 4.5 MiB per request
    assert p.kv_bytes_per_token_full_layers == 18 * 2048 == 36 * 1024
    assert p.kv_bytes_sliding_per_request == 18 * 128 * 2048
    q = plan("120b", "H100", 1, hybrid_swa_pool=False)
    # every layer full: 4.19 GiB // (36 x 2048 B) = 60,994 tokens, no hybrid split
    w = weights_per_gpu(EXPERT_PARAMS_120B, 36, 128, 1)
    assert q.max_total_num_tokens == (int((81559 - 1024) * MiB * 0.874) - w) // (36 * 2048) == 60994
    assert q.kv_bytes_per_token_per_gpu == 36 * 2048 and not q.hybrid_swa_pool
