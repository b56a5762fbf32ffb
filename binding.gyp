{
  "variables": {
    "randlab_werror%": "<!(node -p \"process.env.RANDLAB_REQUIRE_NATIVE === '1' ? 1 : 0\")"
  },
  "targets": [
    {
      "target_name": "randlab_native",
      "sources": ["<!@(node -p \"require('fs').readdirSync('native/src').filter(f => f.endsWith('.cc')).map(f => 'native/src/' + f).join(' ')\")"],
      "include_dirs": ["native/src"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-O2", "-Wno-unused-parameter"],
      "cflags_cc!": ["-fno-exceptions", "-O2"],
      "cflags": [
        "-O3", "-fno-math-errno", "-fno-trapping-math",
        "-Wall", "-Wextra",
        "-isystem", "<(node_root_dir)/include/node",
        "-isystem", "<!(node -p \"require('path').dirname(require.resolve('node-addon-api'))\")"
      ],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fno-trapping-math", "-pthread"],
      "ldflags": ["-pthread"],
      "conditions": [
        ["randlab_werror==1", { "cflags": ["-Werror"] }],
        ["OS=='mac'", {
          "xcode_settings": {
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "OTHER_CPLUSPLUSFLAGS": ["-O3", "-fno-math-errno"]
          }
        }]
      ]
    }
  ]
}
