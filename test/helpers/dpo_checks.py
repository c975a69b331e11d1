"""
Loads a preference JSONL file with `datasets`, then runs on it what the installed TRL's DPOTrainer runs on a train
dataset (trl/trainer/dpo_trainer.py, `_prepare_dataset` and its `tokenize_fn`), with trl.data_utils' own functions;
the trainer module itself imports torch, which the venv does not have. Prints one JSON report.

    python test/helpers/dpo_checks.py FILE.jsonl

Used by test/integration/preference.spec.ts and the Galata review test.
"""
import importlib.util, json, os, sys
import datasets
from tokenizers import Tokenizer, decoders, models
from tokenizers.pre_tokenizers import ByteLevel
from transformers import PreTrainedTokenizerFast
import trl
from trl.data_utils import _tokenize, common_prefix_length, is_conversational, maybe_apply_chat_template, maybe_extract_prompt
datasets.disable_progress_bars()

# A ChatML-like template that renders tools and tool calls (arguments as objects), on a byte-level tokenizer.
TEMPLATE = (
    "{% if tools %}{{ '<|im_start|>system\nTools: ' + (tools | tojson) + '<|im_end|>\n' }}{% endif %}"
    "{% for m in messages %}{{ '<|im_start|>' + m.role + '\n' + m.content }}"
    "{% for c in m.tool_calls or [] %}{{ '\n<tool_call>' + ({'name': c.function.name, 'arguments': c.function.arguments} | tojson) + '</tool_call>' }}{% endfor %}"
    "{{ '<|im_end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
core = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(sorted(ByteLevel.alphabet()))}, merges=[]))
core.pre_tokenizer = ByteLevel(add_prefix_space=False)
core.decoder = decoders.ByteLevel()
tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, eos_token='<|im_end|>', pad_token='<|im_end|>', chat_template=TEMPLATE)
tokenizer.add_special_tokens({'additional_special_tokens': ['<|im_start|>']})

# The checks are the trainer's: fail loudly when the installed TRL prepares datasets some other way.
trainer_source = open(os.path.join(os.path.dirname(trl.__file__), 'trainer', 'dpo_trainer.py'), encoding='utf-8').read()
expected = ['if "prompt" not in first_example', 'if not is_conversational(first_example)', '_tokenize(', 'common_prefix_length(prompt_ids, prompt_chosen_ids)']
missing = [text for text in expected if text not in trainer_source]

ds = datasets.load_dataset('json', data_files=sys.argv[1], split='train')
first = next(iter(ds))

def tokenize_fn(example):
    tools = example.get('tools')
    tools = json.loads(tools) if isinstance(tools, str) else tools
    kwargs = {'tools': tools, **example.get('chat_template_kwargs', {})}
    prompt_ids = _tokenize(tokenizer, example['prompt'], add_generation_prompt=True, **kwargs)['input_ids']
    chosen_ids = _tokenize(tokenizer, example['prompt'] + example['chosen'], **kwargs)['input_ids']
    rejected_ids = _tokenize(tokenizer, example['prompt'] + example['rejected'], **kwargs)['input_ids']
    prompt_len = min(common_prefix_length(prompt_ids, chosen_ids), common_prefix_length(prompt_ids, rejected_ids))
    return {'prompt_len': prompt_len, 'prompt_ids_len': len(prompt_ids), 'chosen_ids': chosen_ids[prompt_len:], 'rejected_ids': rejected_ids[prompt_len:]}

tokenized = ds.map(tokenize_fn)
print(json.dumps({
    'trl': trl.__version__,
    'missing_trainer_checks': missing,
    'num_rows': ds.num_rows,
    'rows': [ds[i] for i in range(ds.num_rows)],
    'has_prompt': 'prompt' in first,
    'conversational': [is_conversational(row) for row in ds],
    'extract_prompt_unchanged': [maybe_extract_prompt(row) == row for row in ds],
    'tokenized': [
        {'prompt_len': row['prompt_len'], 'prompt_ids_len': row['prompt_ids_len'],
         'chosen': tokenizer.decode(row['chosen_ids']), 'rejected': tokenizer.decode(row['rejected_ids'])}
        for row in tokenized
    ],
    'templated': [maybe_apply_chat_template(row, tokenizer, tools=row['tools']) for row in ds],
}, ensure_ascii=False))
