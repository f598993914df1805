// AudioWorklet: microphone samples -> 16-bit little-endian PCM in frames of `frameSamples`, with the frame's peak.
class PcmCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.frameSamples = options.processorOptions?.frameSamples ?? 640;
    this.buffer = new Int16Array(this.frameSamples);
    this.filled = 0;
    this.peak = 0;
  }

  process(inputs) {
    const channel = inputs[0]?.[0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      const s = Math.max(-1, Math.min(1, channel[i]));
      const a = s < 0 ? -s : s;
      if (a > this.peak) this.peak = a;
      this.buffer[this.filled++] = s < 0 ? s * 0x8000 : s * 0x7fff;
      if (this.filled === this.frameSamples) {
        const pcm = this.buffer.buffer.slice(0);
        this.port.postMessage({ pcm, peak: this.peak }, [pcm]);
        this.filled = 0;
        this.peak = 0;
      }
    }
    return true;
  }
}

registerProcessor("pcm-capture", PcmCapture);
