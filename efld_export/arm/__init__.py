"""ARM targets for the benchmark harness: QEMU aarch64, any ARM Linux over ssh, Android over adb."""
