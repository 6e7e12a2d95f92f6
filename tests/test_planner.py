"""The fit planner's numbers, pinned against arithmetic written out here.

Constants used in the hand computations (SGLang 0.5.23's rules, console/planner/sglang.py):
  MiB = 2**20, GiB = 2**30
  memory free at load = card − driver reserve (H100 480 MiB, H200 615 MiB, measured) − CUDA context 527 MiB
  default mem_fraction_static = round((card − reserved) / card, 3), card in MiB, with
    reserved = 512 + max(chunked, 2048) × 1.5 + TP/8 × 1024 + graph max_bs × 2 + 8 × prefill-graph buckets,
    at least 10 GiB on cards over 60 GiB
  chunked prefill 8192 and graph max_bs 256 (TP < 4) on 60–160 GiB cards; 58 prefill buckets up to 8192
  KV budget = (free − weights) − free × (1 − fraction)
  MXFP4 = 0.5 + 1/32 = 0.53125 bytes/param; experts padded 2880 -> 3072
  KV per token per layer per GPU, bf16 = 2 (K,V) * (8/tp heads) * 64 dims * 2 bytes = 2048/tp
  hybrid pool: max_total_num_tokens = budget // (per_layer × full_layers + 0.8 × per_layer × swa_layers)
"""

from __future__ import annotations

import json

import pytest

from console.planner import catalog, fit, sglang
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


W120_TP1 = weights_per_gpu(EXPERT_PARAMS_120B, 36, 128, 1)
W120_TP2 = weights_per_gpu(EXPERT_PARAMS_120B, 36, 128, 2)
W20_TP1 = weights_per_gpu(EXPERT_PARAMS_20B, 24, 32, 1)
H100_FREE = (81559 - 480 - 527) * MiB  # 80,552 MiB
H200_FREE = (143771 - 615 - 527) * MiB


def pool_tokens(free: int, fraction: float, weights: int, tp: int, layers: int, swa: int, page: int = 1) -> int:
    budget = int(((free - weights) / GiB - free / GiB * (1 - fraction)) * GiB)
    per_layer = 2048 // tp
    cell = per_layer * (layers - swa) + 0.8 * per_layer * swa
    return int(budget // cell) // page * page


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
    # H100 (81559 MiB), TP=1: chunked 8192, graph max_bs 256, 58 prefill buckets ≤ 8192
    # reserved = 512 + 8192 × 1.5 + 1/8 × 1024 + 256 × 2 + 58 × 8 = 512 + 12288 + 128 + 512 + 464 = 13904 MiB
    assert fit.default_mem_fraction_static(81559 * MiB, 1) == round((81559 - 13904) / 81559, 3) == 0.83
    # TP=2: + 128 MiB → 14032; TP=4: graph max_bs 512 and 4/8 × 1024 → 512+12288+512+1024+464 = 14800
    assert fit.default_mem_fraction_static(81559 * MiB, 2) == round((81559 - 14032) / 81559, 3) == 0.828
    assert fit.default_mem_fraction_static(81559 * MiB, 4) == round((81559 - 14800) / 81559, 3) == 0.819
    # H200 (143771 MiB): the same bucket as H100, the same 13904 MiB
    assert fit.default_mem_fraction_static(143771 * MiB, 1) == round((143771 - 13904) / 143771, 3) == 0.903
    # B200 (183359 MiB): chunked 16384, max_bs 512, 74 buckets: 512 + 24576 + 128 + 1024 + 592 = 26832
    assert fit.default_mem_fraction_static(183359 * MiB, 1) == round((183359 - 26832) / 183359, 3) == 0.854
    # RTX 4090 (24564 MiB, 20-35 GiB): chunked 4096, max_bs 48, 50 buckets, no 10 GiB floor:
    # 512 + 6144 + 128 + 96 + 400 = 7280
    assert fit.default_mem_fraction_static(24564 * MiB, 1) == round((24564 - 7280) / 24564, 3) == 0.704
    # L40S (46068 MiB, 35-60 GiB): max_bs 32 → 512 + 6144 + 128 + 64 + 400 = 7248
    assert fit.default_mem_fraction_static(46068 * MiB, 1) == round((46068 - 7248) / 46068, 3) == 0.843
    # the 10 GiB floor binds on a big card with a small chunk: 512 + 2048×1.5 + 128 + 512 + 42×8 = 4560 → 10240
    assert sglang.reserved_mib(81559, 1, 2048, 256) == 10240


def test_backend_chunked_prefill_graph_and_page_defaults():
    assert fit.attention_backend((9, 0)) == "fa3"
    assert fit.attention_backend((10, 0)) == "trtllm_mha"
    assert fit.attention_backend((8, 0)) == fit.attention_backend((12, 0)) == "triton"
    assert fit.chunked_prefill_default(16384 * MiB) == 2048  # under 20 GiB
    assert fit.chunked_prefill_default(23034 * MiB) == 4096  # L4: 4096 since SGLang 0.5.23 (was 2048)
    assert fit.chunked_prefill_default(46068 * MiB) == 4096
    assert fit.chunked_prefill_default(81559 * MiB) == 8192
    assert fit.chunked_prefill_default(183359 * MiB) == 16384
    assert [sglang.cuda_graph_max_bs(m, tp) for m, tp in ((16384, 1), (24564, 1), (24564, 4), (46068, 2),
                                                            (81559, 2), (81559, 4), (183359, 1))] == \
        [8, 48, 160, 32, 256, 512, 512]
    assert len(sglang.prefill_graph_sizes(8192)) == 8 + 14 + 8 + 8 + 12 + 8 == 58
    assert sglang.page_size("trtllm_mha") == 64 and sglang.page_size("fa3") == 1


def test_120b_on_one_h100():
    # free at load 80,552 MiB; × 0.83 = 66,858 MiB budget for weights + KV; weights 64.55 GiB
    # KV budget = (free − weights) − free × 0.17 = 796,107,996 B = 0.74 GiB
    # cell = 2048 × 18 + 0.8 × 2048 × 18 = 66,355.2 B → 796,107,996 // 66,355.2 = 11,997 tokens
    expected = pool_tokens(H100_FREE, 0.83, W120_TP1, 1, 36, 18)
    assert expected == 11997
    p = plan("gpt-oss-120b", "H100-80GB", 1)
    assert p.tp == 1 and p.mem_fraction_static == 0.83 and p.free_at_load_bytes == H100_FREE
    assert p.kv_pool_bytes_per_gpu == 796_107_996
    assert p.max_total_num_tokens == 11997
    assert p.max_context == 11997
    assert p.verdict == FITS_SHORTER
    assert p.recommended_context_length == 11264  # 11 × 1024
    assert p.attention_backend == "fa3" and p.chunked_prefill_size == 8192 and p.cuda_graph_max_bs == 256
    assert p.concurrency_at(8192) == 1 and p.concurrency_at(32768) == 0
    # the recipe's 0.95: free × 0.95 − weights = 10.18 GiB → 164,748 tokens
    assert pool_tokens(H100_FREE, 0.95, W120_TP1, 1, 36, 18) == 164748
    assert any("--mem-fraction-static 0.95 would give 164,748 tokens" in r for r in p.reasons)
    assert p.planned_for == "SGLang 0.5.23" and p.image == "lmsysorg/sglang:v0.5.23"
    assert not p.warnings


def test_120b_on_two_h100_tp2():
    # 1,024 B/layer/token at TP=2: cell = 1024 × 18 + 0.8 × 1024 × 18 = 33,177.6 B
    expected = pool_tokens(H100_FREE, 0.828, W120_TP2, 2, 36, 18)
    assert expected == 1063023
    p = plan("gpt-oss-120b", "H100-80GB", 2)
    assert p.tp == 2 and p.mem_fraction_static == 0.828
    assert p.weight_bytes_per_gpu == W120_TP2
    assert p.max_total_num_tokens == 1063023
    assert p.verdict == FITS and p.max_context == 131072
    assert p.concurrency == 1063023 // 131072 == 8


def test_20b_on_l4():
    # L4 (23034 MiB): driver reserve not measured, estimated 303 + 0.217 % of 23034 = 353 MiB
    # free 23034 − 353 − 527 = 22,154 MiB; fraction (23034 − 7280) / 23034 = 0.684
    p = plan("gpt-oss-20b", "L4", 1)
    assert p.driver_reserved_bytes == 353 * MiB and not p.overhead_measured
    assert p.mem_fraction_static == 0.684
    expected = pool_tokens((23034 - 353 - 527) * MiB, 0.684, W20_TP1, 1, 24, 12)
    assert p.max_total_num_tokens == expected == 32808
    assert p.verdict == FITS_SHORTER and p.recommended_context_length == 32768
    assert p.attention_backend == "triton" and p.chunked_prefill_size == 4096
    assert any("Ada (sm89)" in w for w in p.warnings)


def test_b200_pages_by_64():
    # trtllm_mha keeps whole 64-token pages: the pool is a multiple of 64
    p = plan("gpt-oss-20b", "B200", 1)
    assert p.attention_backend == "trtllm_mha" and p.page_size == 64
    assert p.max_total_num_tokens % 64 == 0 and p.max_total_num_tokens > 3_000_000


def test_120b_on_l40s_does_not_fit():
    p = plan("gpt-oss-120b", "L40S", 1)
    # free 46068 − 403 (estimated reserve) − 527 = 45,138 MiB × 0.843 = 37.2 GiB < 64.5 GiB of weights
    assert p.mem_fraction_static == 0.843
    assert p.verdict == DOES_NOT_FIT and not p.fits
    assert p.max_total_num_tokens == 0 and p.max_context == 0 and p.recommended_context_length == 0
    assert "Not enough memory" in p.reasons[0] and "64.5 GiB" in p.reasons[0]


def test_given_mem_fraction_and_concurrency():
    p = plan("120b", "H100", 1, mem_fraction_static=0.95)
    assert p.max_total_num_tokens == pool_tokens(H100_FREE, 0.95, W120_TP1, 1, 36, 18) == 164748
    assert p.verdict == FITS and p.launch_args["mem-fraction-static"] == 0.95
    assert p.settings["mem_fraction_static"] == 0.95
    assert any("activations and CUDA graphs" in x for x in p.warnings)
    # H200 pool 990,736 tokens: 40 requests at 32k need 1,310,720 -> shorter context
    q = plan("120b", "H200", 1, context_length=32768, concurrency=40)
    assert q.max_total_num_tokens == pool_tokens(H200_FREE, 0.903, W120_TP1, 1, 36, 18) == 990736
    assert q.concurrency == 990736 // 32768 == 30
    assert q.verdict == FITS_SHORTER
    assert q.recommended_context_length == (990736 // 40) // 1024 * 1024 == 24576


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
    assert json.loads(text)["max_total_num_tokens"] == 1063023
    assert d["planned_for"] == "SGLang 0.5.23" and d["engine"] == "sglang" and d["engine_version"] == "0.5.23"
    assert d["memory_source"] == "catalog" and d["free_at_load_bytes"] == H100_FREE
    assert d["verdict_text"] == "fits" and d["launch_args"]["tp-size"] == 2  # the flag SGLang 0.5.23 declares
    assert d["settings"]["tensor_parallel_size"] == 2 and d["settings"]["max_model_len"] == 131072
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
    # every layer full: the 796,107,996 B budget // (36 x 2048 B) = 10,797 tokens, no hybrid split
    assert q.max_total_num_tokens == 796_107_996 // (36 * 2048) == 10797
    assert q.kv_bytes_per_token_per_gpu == 36 * 2048 and not q.hybrid_swa_pool
