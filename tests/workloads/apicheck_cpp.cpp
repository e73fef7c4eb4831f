// apicheck_cpp.cpp - C++ new and delete on top of the preloaded malloc.
//
// libstdc++'s operator new calls malloc and operator delete calls free,
// so under LD_PRELOAD these land in the preloaded allocator.  Checks
// the forms a C++ program uses: scalar and array new, over-aligned new
// (which libstdc++ maps to aligned_alloc), nothrow new of an impossible
// size returning nullptr, throwing new raising std::bad_alloc, and the
// containers that grow by reallocating.  Exits 0 only if all hold.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <new>
#include <string>
#include <vector>

// A cache line; the over-aligned type must come back on this boundary.
static constexpr std::size_t kLine = 64;

struct alignas(kLine) Line {
    unsigned char bytes[kLine];
};

static int checks;

// Where results go so that the compiler cannot elide the allocations
// (C++14 lets it drop a new/delete pair whose memory is never used).
static char *volatile sink;

static void expect(bool ok, const char *what)
{
    checks++;
    if (!ok) {
        std::fprintf(stderr, "apicheck_cpp: FAIL: %s\n", what);
        std::exit(1);
    }
}

static void check_new_delete()
{
    int *one = new int(42);
    expect(*one == 42, "new int(42) does not hold 42");
    delete one;
    auto *many = new std::uint64_t[1000];
    for (int i = 0; i < 1000; i++)
        many[i] = static_cast<std::uint64_t>(i) * 3;
    expect(many[999] == 2997, "new[] block lost its contents");
    delete[] many;
    auto *lines = new Line[17];
    auto addr = reinterpret_cast<std::uintptr_t>(lines);
    expect(addr % kLine == 0, "new of alignas(64) type is misaligned");
    delete[] lines;
}

static void check_failures()
{
    volatile std::size_t huge = SIZE_MAX / 2;
    sink = new (std::nothrow) char[huge];
    expect(sink == nullptr, "nothrow new of SIZE_MAX/2 bytes did not fail");
    bool threw = false;
    try {
        sink = new char[huge];
        delete[] sink;
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    expect(threw, "new of SIZE_MAX/2 bytes did not throw bad_alloc");
}

static void check_containers()
{
    std::vector<std::string> words;
    std::map<int, std::string> index;
    for (int i = 0; i < 20000; i++) {
        words.push_back("word number " + std::to_string(i));
        index[i * 7 % 20000] = words.back();
    }
    expect(words[12345] == "word number 12345", "vector lost an element");
    expect(index.size() == 20000, "map lost entries");
    expect(index[7] == "word number 1", "map holds a wrong string");
}

int main()
{
    check_new_delete();
    check_failures();
    check_containers();
    std::printf("apicheck_cpp: ok: %d checks passed\n", checks);
    return 0;
}
