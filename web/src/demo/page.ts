/** Loads the demo for the Amplify version chosen with `?amplify=v5|v6` (default v6). */
const wanted = new URLSearchParams(location.search).get("amplify");
const version = wanted === "v5" ? "v5" : "v6";
document.documentElement.dataset.amplify = version;
const script = document.createElement("script");
script.type = "module";
script.src = `/web/demo-${version}.js`;
document.body.append(script);
