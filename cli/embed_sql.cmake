# Turns sql/*.sql into a C++ source (byte arrays) so the owsync binary carries its own
# scripts. Run in script mode: cmake -DSQL_DIR=<dir> -DOUTPUT=<file.cc> -P embed_sql.cmake
file(GLOB scripts ${SQL_DIR}/*.sql)
list(SORT scripts)
set(arrays "")
set(entries "")
set(i 0)
foreach(script ${scripts})
  get_filename_component(name ${script} NAME)
  file(READ ${script} hex HEX)
  string(LENGTH "${hex}" hex_len)
  math(EXPR size "${hex_len} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n    " bytes "${bytes}")
  string(APPEND arrays "constexpr char kScript${i}[] = {\n    ${bytes}0x00};\n")
  string(APPEND entries "    {\"${name}\", std::string_view(kScript${i}, ${size})},\n")
  math(EXPR i "${i} + 1")
endforeach()
set(content "// Generated from sql/*.sql by cli/embed_sql.cmake at build time. Do not edit.
#include \"cli/embedded_sql.h\"

namespace owsync::cli {
namespace {

${arrays}
constexpr EmbeddedSqlScript kScripts[] = {
${entries}};

}  // namespace

std::span<const EmbeddedSqlScript> EmbeddedSqlScripts() { return kScripts; }

}  // namespace owsync::cli
")
file(WRITE ${OUTPUT} "${content}")
