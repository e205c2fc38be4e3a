{
  "targets": [
    {
      "target_name": "grok_sip_media",
      "sources": ["<!@(node -e \"process.stdout.write(require('fs').readFileSync('native/sources.txt','utf8').split(/\\r?\\n/).filter(Boolean).join(' '))\")"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-O3", "-Wall", "-Wextra"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
