// early_alloc_lib.cpp - a shared library whose static initialiser
// allocates: it runs before the recorder's constructor (a preloaded
// library is initialised after the libraries a program links), as
// LLVM's or any C++ library's do.  early_alloc_main.c links it.
#include <cstdlib>
#include <string>
#include <vector>

namespace {
struct EarlyTable {
    std::vector<std::string> names;
    EarlyTable()
    {
        for (int i = 0; i < 100; i++)
            names.push_back(std::string(40, 'a' + i % 26));
        void *scratch = std::calloc(3, 50);
        scratch = std::realloc(scratch, 400);
        std::free(scratch);
    }
};
EarlyTable early_table;
}

extern "C" int early_alloc_count()
{
    return (int)early_table.names.size();
}
