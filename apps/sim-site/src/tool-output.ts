/**
 * Executor output that reads like the tool's own: a reviewer looking at a task's logs in the console or
 * with view=FULL should see what a Galaxy job prints, not a placeholder. Numbers follow the modelled input.
 */
export function toolStdout(tool: string, inputGb: number, seconds: number): string {
  const reads = Math.round(inputGb * 4_000_000);
  const mb = (inputGb * 1024).toFixed(1);
  switch (tool) {
    case 'fastqc':
      return `Started analysis of input.fastq.gz\nApprox 50% complete for input.fastq.gz\nAnalysis complete for input.fastq.gz\n`;
    case 'fastp':
    case 'trimmomatic':
    case 'cutadapt':
      return `Read1 before filtering:\ntotal reads: ${reads}\nFiltering result:\nreads passed filter: ${Math.round(reads * 0.97)}\n${tool} done in ${seconds.toFixed(0)} seconds\n`;
    case 'bwa_mem':
    case 'bowtie2':
    case 'hisat2':
    case 'minimap2':
      return `[M::process] read ${reads} sequences (${mb} MB)\n${reads} reads; of these:\n  ${(97.1).toFixed(2)}% overall alignment rate\n[main] Real time: ${seconds.toFixed(3)} sec\n`;
    case 'featurecounts':
    case 'htseq_count':
      return `Process BAM file input.bam...\n   Total alignments : ${reads}\n   Successfully assigned alignments : ${Math.round(reads * 0.71)} (71.0%)\n   Running time : ${(seconds / 60).toFixed(2)} minutes\n`;
    default:
      return `${tool}: processed ${mb} MB of input in ${seconds.toFixed(1)} s\n`;
  }
}
