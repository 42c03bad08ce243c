// The synthetic population: log-normal quantiles scaled to an exact total.
// The only floating point in the library lives here (see audit.h).
#include <cmath>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"
#include "loyalty/audit/synthetic.h"
#include "loyalty/check.h"

namespace loyalty {

namespace {

// The standard normal CDF.
double NormalCdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// Rational approximations of the inverse normal CDF in a central region and
// the two tails (relative error about 1e-9, P. J. Acklam's coefficients).
double InverseNormalCdfApproximation(double p) {
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                 1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01,  -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
  constexpr double kLow = 0.02425;
  if (p < kLow) {
    double q = std::sqrt(-2 * std::log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - kLow) {
    double q = std::sqrt(-2 * std::log1p(-p));
    return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  double q = p - 0.5;
  double r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

int64_t BitsOf(double x) {
  int64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
}

double DoubleOf(int64_t bits) {
  double x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

}  // namespace

double InverseNormalCdf(double p) {
  LOYALTY_CHECK(p > 0 && p < 1);
  // Symmetric: work in the lower half, where p is exact, and mirror.
  bool upper = p > 0.5;
  double lower_p = upper ? 1 - p : p;
  double x = InverseNormalCdfApproximation(lower_p);
  // One Halley step on NormalCdf(x) - p brings it to full double precision.
  double e = NormalCdf(x) - lower_p;
  double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  x = x - u / (1 + x * u / 2);
  return upper ? -x : x;
}

absl::Status CheckSyntheticPopulation(const SyntheticPopulation& population) {
  if (population.members < 1 || population.members > kMaxSyntheticMembers) {
    return absl::InvalidArgumentError(absl::StrCat("members: ", population.members, " is not in 1..",
                                                   kMaxSyntheticMembers, " (the most a synthetic population has)"));
  }
  if (population.median <= Points(0)) {
    return absl::InvalidArgumentError(absl::StrCat("median: ", population.median.value(), " is not positive"));
  }
  if (population.total < Points(0)) {
    return absl::InvalidArgumentError(absl::StrCat("total: ", population.total.value(), " is negative"));
  }
  // sigma as an exact decimal, checked before it becomes a double; 10 at
  // sigma's scale in 128 bits, where it cannot overflow.
  const Rate& sigma = population.sigma;
  Int128 ten = 10;
  for (int i = 0; i < sigma.scale(); ++i) ten *= 10;
  if (sigma.mantissa() > ten) {
    return absl::InvalidArgumentError(absl::StrCat("sigma: ", sigma.ToString(), " is above 10"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> SyntheticBalances(const SyntheticPopulation& population) {
  if (absl::Status checked = CheckSyntheticPopulation(population); !checked.ok()) return checked;
  const int64_t n = population.members;
  const Rate& sigma_rate = population.sigma;
  const double sigma = static_cast<double>(sigma_rate.mantissa()) / std::pow(10.0, sigma_rate.scale());
  const double mu = std::log(static_cast<double>(population.median.value()));

  // Pass 1: the quantiles, as doubles stored in the balance slots (no second
  // array), and their sum in index order. Quantile i and n-1-i are mirror
  // images, so each inverse-CDF value serves two members.
  std::vector<int64_t> balances;
  try {
    balances.resize(static_cast<size_t>(n));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat("synthetic population of ", n, " members: out of memory for their balances (8 bytes each)"));
  }
  const double count = static_cast<double>(n);
  for (int64_t i = 0; i < (n + 1) / 2; ++i) {
    double z = InverseNormalCdf((static_cast<double>(i) + 0.5) / count);  // z <= 0
    balances[static_cast<size_t>(i)] = BitsOf(std::exp(mu + sigma * z));
    balances[static_cast<size_t>(n - 1 - i)] = BitsOf(std::exp(mu - sigma * z));
  }
  double sum = 0;
  for (int64_t bits : balances) sum += DoubleOf(bits);
  // Pass 2: scale and floor. A quantile above the total is clamped to it
  // (it cannot happen unless n is tiny and sigma huge).
  const double total = static_cast<double>(population.total.value());
  const double scale = sum > 0 ? total / sum : 0;
  Int128 assigned = 0;
  for (int64_t& slot : balances) {
    double scaled = std::floor(DoubleOf(slot) * scale);
    int64_t points = scaled >= total ? population.total.value() : static_cast<int64_t>(scaled);
    if (points < 0) points = 0;
    slot = points;
    assigned += points;
  }
  // Pass 3: the remainder, one point at a time from the largest balance
  // down (the balances ascend), round after round if need be; an overshoot
  // takes points back the same way from balances that have them.
  Int128 remainder = static_cast<Int128>(population.total.value()) - assigned;
  while (remainder != 0) {
    bool moved = false;
    for (int64_t i = n - 1; i >= 0 && remainder != 0; --i) {
      int64_t& balance = balances[static_cast<size_t>(i)];
      if (remainder > 0) {
        ++balance;
        --remainder;
        moved = true;
      } else if (balance > 0) {
        --balance;
        ++remainder;
        moved = true;
      }
    }
    LOYALTY_CHECK(moved);
  }
  return balances;
}

}  // namespace loyalty
