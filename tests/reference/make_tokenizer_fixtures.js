// Writes tests/fixtures/tokenizer/*: small byte-level BPE tokenizers trained with the Hugging Face
// `tokenizers` library (Node bindings of the Rust crate) and the library's own encode/decode
// results on tricky inputs. rlpp's tokenizer tests must reproduce them exactly.
//
//   mkdir -p /tmp/tokref && cd /tmp/tokref && npm install tokenizers@0.23.2
//   NODE_PATH=/tmp/tokref/node_modules node tests/reference/make_tokenizer_fixtures.js
//
// Each tokenizer.json is written by this script (so both merge forms, "a b" and ["a", "b"], are
// covered) and then loaded back by the library, which validates it and produces the references.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const tk = require('tokenizers');

const outDir = path.join(__dirname, '..', 'fixtures', 'tokenizer');
const kMerges = 520;  // merges kept from training: vocab = 256 bytes + 520 merges (+ extras)

// ---- a deterministic corpus -------------------------------------------------------------------
let seed = 12345;
function rand() {  // mulberry32
  seed |= 0; seed = (seed + 0x6D2B79F5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rand() * a.length)];
const words = ('the of and to in is you that it he was for on are as with his they at be this have ' +
  'from or one had by word but not what all were we when your can said there use an each which she do ' +
  'how their if will up other about out many then them these so some her would make like him into time ' +
  'has look two more write go see number no way could people my than first water been call who oil its ' +
  'now find long down day did get come made may part tokenizer policy gradient reward model learning').split(' ');
const contractions = ["I'm", "don't", "DON'T", "it's", "we're", "they've", "you'll", "she'd", "I'M", "We'Re"];
const code = ['def f(x):\n    return x * 2\n', 'for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}\n',
  'if x == 1:\n        print("one")\n', '#include <vector>\n', 'const y = {a: 1, b: [2, 3]};\n'];
const cjk = ['你好世界', '强化学习', '東京タワー', '한국어 텍스트', 'こんにちは、世界。'];
const emoji = ['😀', '👍🏽', '👩‍💻', '🇫🇷', '❤️', '🎉🎉'];
const accents = ['café', 'naïve', 'résumé', 'Ångström', 'über', 'señor', 'cafe\u0301', 'Zoë'];
function sentence() {
  const parts = [];
  const n = 3 + Math.floor(rand() * 12);
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.62) parts.push(pick(words));
    else if (r < 0.70) parts.push(pick(contractions));
    else if (r < 0.78) parts.push(String(Math.floor(rand() * 100000)));
    else if (r < 0.84) parts.push(pick(cjk));
    else if (r < 0.88) parts.push(pick(emoji));
    else if (r < 0.94) parts.push(pick(accents));
    else parts.push(pick(['(', ')', ',', '.', '!', '?', '...', '--', ':', ';', '"']));
  }
  let s = parts.join(pick([' ', ' ', ' ', '  ', '\t']));
  s = s.charAt(0).toUpperCase() + s.slice(1);
  return s + pick(['.', '!', '?', '\n', '\n\n', '   \n']);
}
let corpus = '';
for (let i = 0; i < 3000; i++) corpus += (rand() < 0.1 ? pick(code) : sentence()) + '\n';

// ---- training: merges from the library's BPE trainer --------------------------------------------
function trainMerges(preTokenizer) {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rlpp-tok-')), 'corpus.txt');
  fs.writeFileSync(file, corpus);
  const t = new tk.Tokenizer(tk.BPE.empty());
  t.setPreTokenizer(preTokenizer);
  t.train([file]);
  const dir = path.dirname(file);
  t.save(path.join(dir, 'trained.json'));
  const model = JSON.parse(fs.readFileSync(path.join(dir, 'trained.json'), 'utf8')).model;
  return model.merges.slice(0, kMerges).map((m) => (Array.isArray(m) ? m : m.split(' ')));
}

// Vocabulary: the 256 byte-level characters in byte order, then one token per merge, in rank order.
function vocabFrom(merges, extras) {
  const alphabet = byteAlphabet();
  const vocab = {};
  let next = 0;
  for (const c of alphabet) vocab[c] = next++;
  for (const [a, b] of merges) if (!(a + b in vocab)) vocab[a + b] = next++;
  for (const e of extras) if (!(e in vocab)) vocab[e] = next++;
  return vocab;
}
function byteAlphabet() {  // GPT-2 bytes_to_unicode, indexed by byte
  const out = [];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    out.push(String.fromCodePoint(printable ? b : 256 + n++));
  }
  return out;
}
function added(id, content, special, opts = {}) {
  return Object.assign({ id, content, single_word: false, lstrip: false, rstrip: false,
    normalized: !special, special }, opts);
}

const kGpt2Regex = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const kQwen2Regex = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const kLlama3Regex = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

function byteLevel(addPrefixSpace, useRegex) {
  return { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: useRegex };
}
function splitThenBytes(regex) {
  return { type: 'Sequence', pretokenizers: [
    { type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false },
    byteLevel(false, false)] };
}
function bpe(vocab, merges, mergesAsStrings, ignoreMerges) {
  return { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null,
    end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: ignoreMerges,
    vocab, merges: mergesAsStrings ? merges.map((m) => m.join(' ')) : merges };
}
function doc(addedTokens, normalizer, preTokenizer, postProcessor, model) {
  return { version: '1.0', truncation: null, padding: null, added_tokens: addedTokens,
    normalizer, pre_tokenizer: preTokenizer, post_processor: postProcessor,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true }, model };
}

// GPT-2 style: ByteLevel pre-tokenizer with its own regex; merges written as "a b".
const gptMerges = trainMerges(tk.byteLevelPreTokenizer(false, true));
const gptVocab = vocabFrom(gptMerges, []);
let nextId = Object.keys(gptVocab).length;
const gptAdded = [added(nextId++, '<|endoftext|>', true),
  added(nextId++, '<mask>', true, { lstrip: true }),
  added(nextId++, '[NUM]', false, { single_word: true }),
  added(nextId++, '<sep>', true, { rstrip: true })];
const specs = {
  gpt2_style: doc(gptAdded, null, byteLevel(false, true), byteLevel(true, true),
    bpe(gptVocab, gptMerges, true, false)),
  gpt2_prefix_space: doc(gptAdded.slice(0, 1), null, byteLevel(true, true), byteLevel(true, true),
    bpe(gptVocab, gptMerges, true, false)),
};

// Qwen2 style: NFC, Split(Qwen2 regex) then ByteLevel without regex; merges written as lists.
const qwenMerges = trainMerges(tk.sequencePreTokenizer([tk.splitPreTokenizer(kQwen2Regex, 'isolated'),
  tk.byteLevelPreTokenizer(false, false)]));
const qwenVocab = vocabFrom(qwenMerges, []);
nextId = Object.keys(qwenVocab).length;
specs.qwen2_style = doc([added(nextId++, '<|endoftext|>', true), added(nextId++, '<|im_start|>', true),
  added(nextId++, '<|im_end|>', true), added(nextId++, '<think>', false, { normalized: false }),
  added(nextId++, '</think>', false, { normalized: false })],
  { type: 'NFC' }, splitThenBytes(kQwen2Regex),
  { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
  bpe(qwenVocab, qwenMerges, false, false));

// Llama-3 style: Split(Llama-3 regex), ignore_merges, BOS added by TemplateProcessing. Extra vocab
// entries that no merge produces show ignore_merges at work.
const llamaMerges = trainMerges(tk.sequencePreTokenizer([tk.splitPreTokenizer(kLlama3Regex, 'isolated'),
  tk.byteLevelPreTokenizer(false, false)]));
const llamaVocab = vocabFrom(llamaMerges, ['Ġzyzzyva', 'Ġquokka', 'Ġtokenizers', 'strawberry']);
nextId = Object.keys(llamaVocab).length;
const bos = nextId;
specs.llama3_style = doc([added(nextId++, '<|begin_of_text|>', true), added(nextId++, '<|end_of_text|>', true),
  added(nextId++, '<|start_header_id|>', true), added(nextId++, '<|end_header_id|>', true),
  added(nextId++, '<|eot_id|>', true)],
  null, splitThenBytes(kLlama3Regex),
  { type: 'Sequence', processors: [
    { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    { type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<|begin_of_text|>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [bos], tokens: ['<|begin_of_text|>'] } } }] },
  bpe(llamaVocab, llamaMerges, false, true));

// ---- tricky inputs ------------------------------------------------------------------------------
const inputs = ['', ' ', '  ', '\n', '\n\n\n', '\t', ' \t \n ', '  leading', 'trailing  ', 'a  b   c    d',
  'Hello world', 'hello, world!', "I'm", "DON'T", "I'M FINE, isn't it? we'Re", "you'll she'd they've",
  '12345', '3.14159 and 1,000,000', 'x=42;y=7', '你好世界', '東京タワーに行きます。', '한국어 텍스트',
  'mixed 中文 and English ελληνικά русский', '👩‍💻 coding 👍🏽', '🇫🇷🇩🇪', '❤️ love', 'café naïve résumé',
  'cafe\u0301 Zoe\u0308 (combining)', 'A\u030A vs \u00C5 vs \u212B', '<|endoftext|>',
  'before<|endoftext|>after', 'a <|endoftext|> b', '<|im_start|>user\nHi<|im_end|>\n',
  '<|im_start|>assistant\n<think>\nhmm\n</think>\nok<|im_end|>', '<|begin_of_text|>x<|eot_id|>',
  '<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>', 'text <mask> here', 'the[NUM]x [NUM] y',
  'supercalifragilisticexpialidocious'.repeat(3), 'a'.repeat(200), ' zyzzyva quokka tokenizers strawberry',
  'def f(x):\n    return x * 2\n', 'for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}',
  'line1\r\nline2\r\n', '\u00a0nbsp\u2003em\u3000ideographic', 'ſ ſs ſt Kelvin \u212A', '\u0000\u0001\u007f',
  '...!!!???', '  \n  \n', 'end with space ', 'Ünïcödé ÀÉÎÕÜ ẞ ß',
  'é[NUM]', '[NUM]é', '_[NUM]', '1[NUM]', '日[NUM]', ' [NUM] ', '[NUM][NUM]', '[NUM]', 'x [NUM]\t',
  '  <mask>', '\u3000<mask>x', 'a<mask><mask> b', '<mask>', 'e\u0301<think>e\u0301</think>',
  'e\u0301[NUM]', '\u00b2[NUM]', '[NUM]\u00b2', '\u2167[NUM]', '\u200d[NUM]', '\u203f[NUM]', '\u24b6[NUM]',
  'a<sep>  b', '<sep>\n\nx', 'x <sep>', '<sep>  <sep> y', ' <mask> <sep> '];

// Random mixtures of everything above (after training, so the corpus does not depend on them).
const pool = [...words, ...contractions, ...cjk, ...emoji, ...accents, ' ', '  ', '   ', '\t', '\n',
  '\r\n', ' \n', '\n\n', '!', '?!', '...', "'", "'s", "'S", '"', '(', ')', '123', '4567890', '3.5',
  '<|endoftext|>', '<|im_end|>', '<|eot_id|>', '<think>', '\u00a0', '\u3000', '\u180e', '\u200b',
  'ſ', '\u212A', 'e\u0301', '\u0301', '\u{1F600}', 'ÿ', '\u007f', '_', '__init__', '0x1F'];
for (let i = 0; i < 150; i++) {
  let s = '';
  const n = 1 + Math.floor(rand() * 14);
  for (let j = 0; j < n; j++) s += pick(pool);
  inputs.push(s);
}

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  const reference = { library: 'tokenizers (npm) ' + require('tokenizers/package.json').version,
    inputs, tokenizers: {} };
  for (const [name, spec] of Object.entries(specs)) {
    const text = JSON.stringify(spec, null, 1) + '\n';
    fs.writeFileSync(path.join(outDir, name + '.json'), text);
    const t = tk.Tokenizer.fromString(text);
    const cases = [];
    for (const s of inputs) {
      const plain = await t.encode(s, null, { addSpecialTokens: false });
      const special = await t.encode(s, null, { addSpecialTokens: true });
      const ids = Array.from(plain.getIds());
      cases.push({ ids, ids_special: Array.from(special.getIds()),
        decoded: await t.decode(Array.from(special.getIds()), false),
        decoded_skip: await t.decode(Array.from(special.getIds()), true) });
    }
    reference.tokenizers[name] = { file: name + '.json', vocab_size: t.getVocabSize(true), cases };
  }
  fs.writeFileSync(path.join(outDir, 'reference.json'), JSON.stringify(reference) + '\n');
}
main().catch((e) => { console.error(e); process.exit(1); });
