// Implements src/kernels/reference/loss.ts (softmaxCrossEntropyForward, softmaxCrossEntropyBackward).
//
// Softmax cross-entropy over logits [rows, classes]: forward (probabilities and mean loss) and
// backward (scale · (probs − onehot)).
//
// Forward works row by row in float64: max, Σexp(x − max), log-sum-exp; rows are split across
// threads when there are enough of them, and per-row losses are summed in row order so the result
// does not depend on the thread count.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernel_args.h"
#include "parallel_loops.h"

namespace randlab {
namespace {

using Index = std::ptrdiff_t;

// Both kernels take (input [rows, classes], labels [rows], output [rows, classes], rows, classes).
struct RowsWithLabels {
  ArrayArg<float> input;
  ArrayArg<std::int32_t> labels;
  ArrayArg<float> output;
  Index rows, classes;
};

RowsWithLabels readRowsWithLabels(const KernelArgs& args, const char* inputName, const char* outputName) {
  RowsWithLabels a{args.f32(0, inputName), args.i32(1, "labels"), args.f32(2, outputName), args.integer(3, "rows"),
                   args.integer(4, "classes", 1)};
  args.requireLength(a.input, static_cast<std::size_t>(a.rows * a.classes), inputName, "rows·classes");
  args.requireLength(a.labels, static_cast<std::size_t>(a.rows), "labels", "rows");
  args.requireLength(a.output, a.input.length, outputName, "rows·classes");
  // Labels index into each row, so one outside [0, classes) would read or write out of bounds.
  for (std::size_t r = 0; r < a.labels.length; ++r) {
    if (a.labels.data[r] < 0 || a.labels.data[r] >= a.classes) {
      args.fail("labels[" + std::to_string(r) + "] = " + std::to_string(a.labels.data[r]) + " is outside [0, " +
                std::to_string(a.classes) + ")");
    }
  }
  return a;
}

// Writes the row's softmax into probs and returns −log softmax(logits)[label].
double softmaxRow(const float* logits, float* probs, Index classes, std::int32_t label) {
  float maxLogit = logits[0];
  for (Index j = 1; j < classes; ++j) maxLogit = logits[j] > maxLogit ? logits[j] : maxLogit;
  const double max = maxLogit;
  double total = 0;
  for (Index j = 0; j < classes; ++j) {
    const double e = std::exp(static_cast<double>(logits[j]) - max);
    probs[j] = static_cast<float>(e);
    total += e;
  }
  const float inverse = static_cast<float>(1.0 / total);
  for (Index j = 0; j < classes; ++j) probs[j] *= inverse;
  return max + std::log(total) - static_cast<double>(logits[label]);
}

RANDLAB_KERNEL(softmaxCrossEntropyForward) {
  const RowsWithLabels a = readRowsWithLabels(args, "logits", "probs");
  const Index rows = a.rows, classes = a.classes;
  if (rows == 0) return args.result(std::nan(""));  // the mean of no losses, as 0 / 0

  std::vector<double> losses(static_cast<std::size_t>(rows));
  // exp dominates: a row costs far more than an element-wise op, hence the smaller grain.
  parallelTasks(rows, rows * classes * 16, [&](Index r) {
    losses[static_cast<std::size_t>(r)] =
        softmaxRow(a.input.data + r * classes, a.output.data + r * classes, classes, a.labels.data[r]);
  });
  double total = 0;
  for (double loss : losses) total += loss;
  return args.result(total / static_cast<double>(rows));
}

RANDLAB_KERNEL(softmaxCrossEntropyBackward) {
  const RowsWithLabels a = readRowsWithLabels(args, "probs", "dlogits");
  const Index classes = a.classes;
  const float scale = static_cast<float>(args.number(5, "scale"));
  parallelTasks(a.rows, a.rows * classes, [&](Index r) {
    const float* p = a.input.data + r * classes;
    float* d = a.output.data + r * classes;
    RANDLAB_IVDEP
    for (Index j = 0; j < classes; ++j) d[j] = scale * p[j];
    const std::int32_t label = a.labels.data[r];
    d[label] = scale * (p[label] - 1.0f);
  });
  return args.undefined();
}

}  // namespace
}  // namespace randlab
