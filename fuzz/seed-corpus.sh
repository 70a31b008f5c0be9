#!/usr/bin/env bash
# Builds the seed corpora from test_data/: every admission request there,
# wrapped as a validate payload under each settings file, and every settings
# document. Written to fuzz/corpus/ (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."
out=fuzz/corpus
mkdir -p "$out/validate" "$out/settings" "$out/structured"
python3 - "$out" <<'PY'
import glob, hashlib, json, os, sys
out = sys.argv[1]
def save(target, data):
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data)
def yaml_to_json(path):
    # PyYAML is optional: without it the YAML settings files are skipped.
    try:
        import yaml
    except ImportError:
        return None
    return yaml.safe_load(open(path))
settings = [{}]
for path in sorted(glob.glob("test_data/settings/*.yml") + glob.glob("test_data/bypass/*settings.yml")):
    doc = yaml_to_json(path)
    if isinstance(doc, dict):
        settings.append(doc)
settings.append({"allowedRoles": {"team-a": ["arn:aws:iam::111122223333:role/s3-*"]}, "awsDefaultRegion": "eu-west-1",
                 "podIdentity": {"associations": [{"namespace": "team-a", "serviceAccount": "app"}]}})
for s in settings:
    save("settings", json.dumps(s).encode())
for path in sorted(glob.glob("test_data/bad/settings/*.json")):
    save("settings", open(path, "rb").read())
requests = []
for path in sorted(glob.glob("test_data/*.json") + glob.glob("test_data/bypass/*.json")
                   + glob.glob("test_data/bypass/admitted/*.json")):
    doc = json.load(open(path))
    requests.append(doc.get("request", doc))
# The worst shapes (test_data/bad/shapes.py), small enough to mutate.
sys.path.insert(0, "test_data/bad")
import shapes
for shape in shapes.SHAPES:
    requests.append(shapes.sized(shape, 4_000)[0])
for r in requests:
    for s in settings:
        save("validate", json.dumps({"request": r, "settings": s}).encode())
# The generated many-violation requests up to 1.5 MB (larger ones slow
# every mutation of the fuzzer down).
import subprocess, tempfile
generated = tempfile.mkdtemp()
subprocess.run([sys.executable, "test_data/bad/large.py", generated], check=True)
large = [p for p in glob.glob(generated + "/*.payload.json") if os.path.getsize(p) <= 1536 * 1024]
for path in sorted(glob.glob("test_data/bad/*.payload.json")) + sorted(large):
    data = open(path, "rb").read()
    save("validate", data)
    save("structured", data)
PY
echo "seed corpora: $(ls "$out/validate" | wc -l) validate, $(ls "$out/settings" | wc -l) settings, $(ls "$out/structured" | wc -l) structured"
